#!/usr/bin/python3
"""tuf_server.py - a loopback HTTP server for TUF tests that misbehaves on
request: it serves the files of a directory, and for the paths named in a
faults file it trickles bytes (slow retrieval), sends endless data, lies
about lengths, dies mid-download, answers an HTTP status, or serves another
file in place of the one asked (rollback, mix-and-match).

TEST ONLY. Listens on 127.0.0.1 only, on a free port it picks.

  tuf_server.py --root DIR --port-file FILE [--log FILE] [--faults FILE]

--port-file: written (atomically) with the port once the server listens.
--log:       one line per request: "GET /path STATUS" (appended, flushed).
--faults:    JSON, re-read on every request (edit it between client runs):
    {"/metadata/timestamp.json": {"mode": "trickle", "delay": 0.2}, ...}
  modes:
    trickle  {"delay": S}  Content-Length, then one byte every S seconds
    spread   {"seconds": S}  the body in 20 even pieces over S seconds
    stall    {}            headers, then nothing until the client gives up
    endless  {}            200 without a length, random bytes forever
    die      {"after": N}  the full Content-Length, N bytes (default: half),
                           then the connection is reset
    status   {"code": C}   an empty response with status C
    file     {"path": P}   the bytes of P (relative to --root, or absolute)
    length   {"length": L} the file with a false Content-Length L (closing
                           the connection after the body)
Python 3 standard library only.
"""

import argparse
import http.server
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tuf-test"
    # Headers and body go out in separate writes: without TCP_NODELAY,
    # Nagle + the client's delayed ACK add 40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet: we keep our own log
        pass

    def log_request_line(self, status):
        if self.server.log_path:
            with self.server.log_lock, open(self.server.log_path, "a") as f:
                f.write("%s %s %d\n" % (self.command, self.path, status))

    def faults(self):
        p = self.server.faults_path
        if not p or not os.path.exists(p):
            return {}
        try:
            with open(p) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def local_path(self, urlpath):
        rel = urllib.parse.unquote(urlpath.split("?", 1)[0]).lstrip("/")
        root = os.path.realpath(self.server.root)
        full = os.path.realpath(os.path.join(root, rel))
        if full != root and not full.startswith(root + os.sep):
            return None
        return full if os.path.isfile(full) else None

    def send_bytes(self, status, body, length=None, close=False):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if close:
            self.close_connection = True

    def reset(self):
        # SO_LINGER 0: close sends RST, like a server process that died.
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        fault = self.faults().get(path)
        mode = fault.get("mode") if isinstance(fault, dict) else None
        try:
            self.serve(path, fault or {}, mode)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def serve(self, path, fault, mode):
        if mode == "status":
            code = int(fault.get("code", 500))
            self.log_request_line(code)
            self.send_bytes(code, b"")
            return
        if mode == "endless":
            self.log_request_line(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b"\x7b" * 65536
            deadline = time.time() + 120
            while time.time() < deadline:
                self.wfile.write(chunk)
            return
        if mode == "stall":
            self.log_request_line(200)
            time.sleep(float(fault.get("seconds", 60)))
            self.close_connection = True
            return
        src = None
        if mode == "file":
            p = fault.get("path", "")
            src = p if os.path.isabs(p) else os.path.join(self.server.root, p)
            if not os.path.isfile(src):
                src = None
        else:
            src = self.local_path(path)
        if src is None:
            self.log_request_line(404)
            self.send_bytes(404, b"")
            return
        with open(src, "rb") as f:
            body = f.read()
        self.log_request_line(200)
        if mode == "trickle":
            delay = float(fault.get("delay", 0.5))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(delay)
            return
        if mode == "spread":
            # The whole body, evenly over "seconds": fast enough for any
            # low-speed limit, but each file takes that long.
            secs = float(fault.get("seconds", 3))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            steps = 20
            for i in range(steps):
                self.wfile.write(body[len(body) * i // steps:len(body) * (i + 1) // steps])
                self.wfile.flush()
                time.sleep(secs / steps)
            return
        if mode == "die":
            after = int(fault.get("after", len(body) // 2))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:after])
            self.reset()
            return
        if mode == "length":
            self.send_bytes(200, body, length=int(fault.get("length", 0)), close=True)
            return
        self.send_bytes(200, body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--faults")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.root = a.root
    srv.log_path = a.log
    srv.faults_path = a.faults
    srv.log_lock = threading.Lock()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
