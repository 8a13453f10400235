"""Small HTTP servers that misbehave on purpose, for headroom's tests.

    misbehave.py pool WORKERS SERVICE_S   a thread per connection, but only
                                          WORKERS requests served at once for
                                          SERVICE_S each; the rest wait without
                                          bound (no 503): a thread pool behind
                                          a listen backlog
    misbehave.py forbidden                403 Forbidden to every request
    misbehave.py deaf                     listens (backlog 1) and never accepts:
                                          a server whose accept queue is full
    misbehave.py few N                    accepts N connections and answers 200
                                          on them (keep-alive), then closes its
                                          listening socket: later connections
                                          are refused
    misbehave.py failing PERCENT          500 to PERCENT % of requests (drawn
                                          at random, seeded), 200 to the rest,
                                          at any load

The port is printed on the first line of standard output. GET /stats (pool)
answers "served held_seconds": the served requests and the seconds workers
were held, the test's oracle for the capacity actually delivered.
"""

import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
if MODE == "pool":
    WORKERS = int(sys.argv[2])
    SERVICE_S = float(sys.argv[3])
    SLOTS = threading.Semaphore(WORKERS)
LOCK = threading.Lock()
RANDOM = random.Random(1)
SERVED = 0
HELD = 0.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global SERVED, HELD
        if MODE == "forbidden":
            self.answer(403, b"forbidden\n")
            return
        if MODE == "failing":
            with LOCK:
                SERVED += 1
                fail = RANDOM.random() * 100 < float(sys.argv[2])
            if fail:
                self.answer(500, b"broken\n")
            else:
                self.answer(200, b"ok\n")
            return
        if self.path == "/stats":
            with LOCK:
                self.answer(200, f"{SERVED} {HELD:.6f}\n".encode())
            return
        with SLOTS:
            start = time.monotonic()
            time.sleep(SERVICE_S)
            held = time.monotonic() - start
        with LOCK:
            SERVED += 1
            HELD += held
        self.answer(200, b"ok\n")

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096

    def handle_error(self, request, client_address):
        # A client that gave up (a timeout, the end of a step) leaves a
        # broken pipe: expected here, not worth a traceback.
        pass


if MODE == "deaf":
    import socket

    deaf = socket.socket()
    deaf.bind(("127.0.0.1", 0))
    deaf.listen(1)
    print(deaf.getsockname()[1], flush=True)
    time.sleep(600)
    sys.exit(0)

if MODE == "few":
    import socket

    few = socket.socket()
    few.bind(("127.0.0.1", 0))
    few.listen(1)
    print(few.getsockname()[1], flush=True)

    def serve(conn):
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b"\r\n\r\n" in buf:
                _, buf = buf.split(b"\r\n\r\n", 1)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")

    for _ in range(int(sys.argv[2])):
        conn, _ = few.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
    few.close()
    time.sleep(600)
    sys.exit(0)

server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
