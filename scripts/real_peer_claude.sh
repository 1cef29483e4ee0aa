#!/usr/bin/env bash
# Real-peer test of the claude-code provider: the real Claude Code CLI against a loopback fake Anthropic server.
# Uses TUI_AGENT_REAL_CLAUDE, else `claude` on PATH, else installs @anthropic-ai/claude-code from npm into a cache
# folder (never into the project's .venv). Needs no Claude account: the test gives the CLI a dummy token.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${TUI_AGENT_CLAUDE_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/tui-agent/real-peer/claude-code}"
cli="${TUI_AGENT_REAL_CLAUDE:-}"
if [ -z "$cli" ] && command -v claude >/dev/null 2>&1; then
    cli="$(command -v claude)"
fi
if [ -z "$cli" ]; then
    if [ ! -x "$prefix/node_modules/.bin/claude" ]; then
        if ! command -v npm >/dev/null 2>&1; then
            echo "real_peer_claude: npm not found; install Node.js or set TUI_AGENT_REAL_CLAUDE to a claude binary" >&2
            exit 2
        fi
        echo "real_peer_claude: installing @anthropic-ai/claude-code into $prefix" >&2
        npm install --prefix "$prefix" --no-fund --no-audit @anthropic-ai/claude-code >&2
    fi
    cli="$prefix/node_modules/.bin/claude"
fi
echo "real_peer_claude: using $cli ($("$cli" --version))" >&2

# The last -m wins over pyproject's `-m 'not real_peer'`.
TUI_AGENT_REAL_CLAUDE="$cli" exec .venv/bin/pytest -m real_peer tests/real_peer/test_claude_cli.py -v "$@"
