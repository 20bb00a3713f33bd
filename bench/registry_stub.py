#!/usr/bin/env python3
"""A stand-in population registry for benchmarks, on this machine only.

Answers `POST /v1/people:lookup` (the contract in host/src/registry/http.rs) from the
registry table of an ansinh SQLite database, each answer after a fixed delay that stands
for the network and the service. Any bearer token is accepted: it is not a registry.

    python3 bench/registry_stub.py DEMO/ansinh.db 18081 0.02 &
    ANSINH_REGISTRY_TOKEN=bench ansinh run evaluate 2 --registry-url http://127.0.0.1:18081 ...
"""
import json, sqlite3, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
db, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
cols = ["id_number", "full_name", "birth_date", "sex", "residence_province", "residence_commune", "death_date"]
people = {r[0]: dict(zip(cols, r)) for r in sqlite3.connect(db).execute("SELECT " + ",".join(cols) + " FROM registry_people")}
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        ids = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["id_numbers"]
        time.sleep(delay)
        body = json.dumps({"people": [people[i] for i in ids if i in people]}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
