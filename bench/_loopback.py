"""A FakeOpenAI in its own process: the benchmarked app must not share the GIL with the server it reads from.

Run by `_common.loopback_answer`: argv is a JSON file {"chunks": [...], "delay": s, "repeat": n}; prints the
base URL on stdout, then "sent T" each time a streamed reply has been written whole (T: `time.perf_counter()`,
CLOCK_MONOTONIC on Linux, so comparable with the bench's own clock), and on Linux "read T" once the app has read
that reply's last byte: serves until stdin closes.

"read": the server writes only as fast as the app reads (TCP backpressure), so when its last write returns, up to a
few MB can still wait in the two sockets' buffers (its send queue, the app's receive queue) for the app to read. A
thread watches both queues in /proc/net/tcp, every READ_POLL seconds, and reports the first moment both are empty:
the app has taken the whole answer from the kernel and what is left is its own parsing and drawing (the final
render that issue 23's target 4 bounds). Where /proc/net/tcp does not exist, "read" is not reported.
"""

import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import FakeOpenAI  # noqa: E402

TCP_TABLE = Path("/proc/net/tcp")
READ_POLL = 0.002  # seconds between two looks at the socket queues
READ_GIVE_UP = 600.0  # seconds: the app never read the rest (it stopped, or hung)


def _hex_address(address: tuple) -> str:
    """127.0.0.1:8080 as /proc/net/tcp writes it: the IPv4 address's bytes as a little-endian hex word, the port."""
    host, port = address[:2]
    return "".join(f"{int(part):02X}" for part in reversed(host.split("."))) + f":{port:04X}"


def queues(server: tuple, client: tuple, table: str) -> tuple[int, int] | None:
    """(bytes in the server's send queue, bytes in the client's receive queue) of one loopback connection, from the
    text of /proc/net/tcp; None when neither end is listed (both closed)."""
    server_hex, client_hex = _hex_address(server), _hex_address(client)
    sending = receiving = None
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        tx, rx = (int(part, 16) for part in fields[4].split(":"))
        if fields[1] == server_hex and fields[2] == client_hex:
            sending = tx
        elif fields[1] == client_hex and fields[2] == server_hex:
            receiving = rx
    if sending is None and receiving is None:
        return None
    return sending or 0, receiving or 0


def report_read(server: tuple, client: tuple) -> None:
    """Print "read T" once the connection's queues are empty (or both its ends are gone)."""
    deadline = time.perf_counter() + READ_GIVE_UP
    while time.perf_counter() < deadline:
        found = queues(server, client, TCP_TABLE.read_text())
        if found is None or found == (0, 0):
            print(f"read {time.perf_counter()!r}", flush=True)
            return
        time.sleep(READ_POLL)


class TimedOpenAI(FakeOpenAI):
    async def _send(self, reply, request, reader, writer) -> bool:
        whole = await super()._send(reply, request, reader, writer)
        if reply.chunks is not None:
            print(f"sent {time.perf_counter()!r}", flush=True)
            if TCP_TABLE.exists():  # a thread: the handler goes on to close its end as it always does
                ends = (writer.get_extra_info("sockname"), writer.get_extra_info("peername"))
                threading.Thread(target=report_read, args=ends, daemon=True).start()
        return whole


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    with TimedOpenAI() as fake:
        fake.script(*[FakeOpenAI.answer(*spec["chunks"], delay=spec["delay"]) for _ in range(spec["repeat"])])
        print(fake.base_url, flush=True)
        sys.stdin.read()
