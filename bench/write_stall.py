#!/usr/bin/env python3
"""How long a small write waits on an ansinh SQLite database while something else runs.

Issue 15 asks that no SQLite write transaction hold the database for more than a second,
so that a server's sign-ins (a small write each) are not stalled by a run. This probe is
such a writer: every INTERVAL seconds it takes the write lock (`BEGIN IMMEDIATE`, as
ansinh's writers do), notes how long it waited, and lets it go at once. It waits for
the database file to appear, runs until stopped (SIGINT or SIGTERM), then prints each
wait over THRESHOLD seconds with the wall-clock time it began (to match against the log
of what ran) and the longest.

    python3 bench/write_stall.py DEMO/ansinh.db > stalls.txt & probe=$!
    ANSINH_LOG=ansinh=info ansinh demo --people 200000 --dir DEMO
    kill $probe; cat stalls.txt
"""
import os, signal, sqlite3, sys, time
from datetime import datetime

db = sys.argv[1]
interval = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
threshold = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
stop = False
def on_signal(*_):
    global stop
    stop = True
signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)

while not os.path.exists(db) and not stop:
    time.sleep(interval)
# Autocommit mode: the probe's BEGIN and ROLLBACK are its own. A wait longer than any
# run's transaction is an answer too, so the timeout is long.
conn = sqlite3.connect(db, timeout=3600, isolation_level=None)
probes, stalls = 0, []
while not stop:
    began, t0 = datetime.now(), time.monotonic()
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as e:  # the demo's migrations, or the file replaced
        print(f"{began:%H:%M:%S.%f} probe failed: {e}", file=sys.stderr)
    waited = time.monotonic() - t0
    probes += 1
    if waited > threshold:
        stalls.append((began, waited))
    time.sleep(interval)

print(f"{probes} probes of the write lock, every {interval} s; waits over {threshold} s:")
for began, waited in stalls:
    print(f"  {began:%H:%M:%S.%f}  {waited:8.3f} s")
print(f"longest wait {max((w for _, w in stalls), default=0.0):.3f} s")
