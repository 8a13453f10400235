#!/usr/bin/env python3
"""An HTTP/1.1 server with a fixed service time, for the gate benchmarks.

    fixed.py SERVICE_MS WORKERS [PORT]

Answers every request for a top-level path (/, /cart) "200 ok\\n" (with
Content-Length, keep-alive; 404 below one) after SERVICE_MS milliseconds, serving at most WORKERS requests at once (an
asyncio.Semaphore); the others queue. Binds 127.0.0.1 only; PORT 0 or absent
picks a free port. The port is printed on the first line of stdout. Runs
until killed; SIGTERM and SIGINT exit cleanly.

The service time is an asyncio.sleep, which is only as precise as the event
loop's wait: epoll (asyncio's default on Linux) takes its timeout in whole
milliseconds, rounded up, which added up to ~1 ms of jitter and squeezed the
steps (4.5/5/5.5 ms measured 5.55/5.93/6.50 ms at p50). The loop here uses
select(), whose timeout is in microseconds: p50 of about SERVICE_MS + 0.5 ms
(that includes the client), p10-p90 within 0.35 ms. select() only takes
descriptors below 1024 (~1000 connections). A loop.call_at-based sleep ended
by a busy-wait would be tighter still but steals CPU. Bodies are discarded.
"""
import asyncio
import selectors
import signal
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"
# Only top-level paths (/, /cart) are found: a client that joins a base
# path to a request path twice (/cart/cart) gets 404s, not silent 200s.
MISSING = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nno!\n"


async def serve(service_s, sem, reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line.strip():
                break  # EOF (or a stray blank line: treat as the end)
            length, close = 0, line.rstrip().endswith(b"HTTP/1.0")
            parts = line.split()
            path = parts[1].split(b"?")[0] if len(parts) > 1 else b"/"
            answer = RESPONSE if path.count(b"/") <= 1 else MISSING
            while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = h.partition(b":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    close = value == b"close"
            if length:
                await reader.readexactly(length)
            async with sem:
                await asyncio.sleep(service_s)
            writer.write(answer if not close else answer.replace(
                b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
            await writer.drain()
            if close:
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError,
            asyncio.CancelledError):  # cancelled = shutting down; 3.11 would log it
        pass
    finally:
        writer.close()


async def main():
    service_s = float(sys.argv[1]) / 1000
    sem = asyncio.Semaphore(int(sys.argv[2]))
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    server = await asyncio.start_server(
        lambda r, w: serve(service_s, sem, r, w), "127.0.0.1", port, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    select_loop = lambda: asyncio.SelectorEventLoop(selectors.SelectSelector())
    with asyncio.Runner(loop_factory=select_loop) as runner:
        runner.run(main())
