#!/usr/bin/python3
"""tsa_server.py - an RFC 3161 time-stamping server for tests, on 127.0.0.1.

  tsa_server.py DIR PORTFILE

DIR holds the TSA's signer (tsa.pem, tsa.key) and the chain to include in
replies (tsa-chain.pem), as tests/tools/codesign_pki.sh makes them. The
server binds an ephemeral port on 127.0.0.1, writes it to PORTFILE once it
listens, and answers each POST of an application/timestamp-query with the
application/timestamp-reply of `openssl ts -reply`. The path chooses the
time stamped:
  /            the current time
  /at/UNIX     UNIX seconds (`openssl ts` has no clock of its own to set, so
               it runs under faketime(1), Debian package faketime)
A query openssl rejects is answered 400 with openssl's own message, so a
client's error names the cause. The server runs until it is killed; every
request is bounded (1 MiB of query, 10 s of openssl).
"""

import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time

MAX_QUERY = 1 << 20


def config(d, policy="1.3.6.1.4.1.4146.2.3", chain=True,
           digests="sha1, sha256, sha384, sha512"):
    """The `openssl ts -reply` configuration for the TSA whose tsa.pem,
    tsa.key and tsa.serial (and, with chain, tsa-chain.pem) are in d."""
    p = lambda n: os.path.abspath(os.path.join(d, n))  # noqa: E731
    return "\n".join([
        "[ tsa ]",
        "default_tsa = tsa_config1",
        "[ tsa_config1 ]",
        "serial = %s" % p("tsa.serial"),
        "crypto_device = builtin",
        "signer_cert = %s" % p("tsa.pem"),
        "signer_key = %s" % p("tsa.key"),
    ] + (["certs = %s" % p("tsa-chain.pem")] if chain else []) + [
        "signer_digest = sha256",
        "default_policy = %s" % policy,
        "digests = %s" % digests,
        "accuracy = secs:1",
        "ordering = yes",
        "tsa_name = yes",
        "ess_cert_id_chain = no",
        "ess_cert_id_alg = sha256",
        "",
    ])


class Handler(http.server.BaseHTTPRequestHandler):
    lock = threading.Lock()  # `openssl ts` advances one serial file
    timeout = 10  # seconds for a client to send its query

    def log_message(self, fmt, *args):
        sys.stderr.write("tsa_server: " + (fmt % args) + "\n")

    def answer(self, code, ctype, body):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        argv = ["openssl", "ts", "-reply"]
        if parts == [""]:
            pass
        elif len(parts) == 2 and parts[0] == "at" and parts[1].isdigit():
            at = time.strftime("@%Y-%m-%d %H:%M:%S", time.gmtime(int(parts[1])))
            argv = ["faketime", "-f", at] + argv
        else:
            return self.answer(404, "text/plain", b"paths: / or /at/UNIX\n")
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0 or n > MAX_QUERY:
            return self.answer(400, "text/plain", b"query length out of range\n")
        query = self.rfile.read(n)
        with tempfile.TemporaryDirectory(prefix="tsa-server.") as tmp, self.lock:
            q, r = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            env = dict(os.environ, TZ="UTC")
            res = subprocess.run(argv + ["-config", CONFIG, "-queryfile", q, "-out", r],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=10, env=env, check=False)
            if res.returncode != 0 or not os.path.exists(r):
                return self.answer(400, "text/plain", res.stdout)
            with open(r, "rb") as f:
                self.answer(200, "application/timestamp-reply", f.read())


def main():
    global CONFIG
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d, portfile = sys.argv[1], sys.argv[2]
    CONFIG = os.path.join(d, "tsa-server.cnf")
    with open(CONFIG, "w") as f:
        f.write(config(d))
    if not os.path.exists(os.path.join(d, "tsa.serial")):
        with open(os.path.join(d, "tsa.serial"), "w") as f:
            f.write("01\n")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".new", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".new", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
