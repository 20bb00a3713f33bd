#!/usr/bin/env bash
# bench/pages_latency.sh: how long each web page takes on a large run (issue 14).
#
# `ansinh demo --people PEOPLE --serve` in a temp dir (run 1 of PEOPLE people, evaluated and
# issued), signed in as the demo's officer (and auditor) with curl, then each page fetched
# REQUESTS times one after another: p50, p99 and the largest, in milliseconds, from curl's
# time_total. One client at a time: this is each page's own time, not the service under load
# (bench/service_load.sh is that).
#
# Run from the checkout, after a release build in the bench's own target dir:
#   CARGO_TARGET_DIR=target-bench nice cargo build --release -p ansinh
#   PEOPLE=1000000 bench/pages_latency.sh
# CHANGES=1 also evaluates the month after (NEXT_PERIOD, 2024-10) and times its change from run 1.
# Needs curl.
set -euo pipefail
cd "$(dirname "$0")/.."
people="${PEOPLE:-100000}"
requests="${REQUESTS:-200}"
bin="${ANSINH:-target-bench/release/ansinh}"
dir="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT

"$bin" demo --people "$people" --dir "$dir/demo" --serve --listen 127.0.0.1:0 > "$dir/demo.log" 2>&1 &
server=$!
for _ in $(seq 1200); do grep -q "^Listening on" "$dir/demo.log" && break; sleep 0.5; done
base="$(sed -n 's/^Listening on //p' "$dir/demo.log")"
[ -n "$base" ] || { cat "$dir/demo.log"; exit 1; }

jar="$dir/cookies"
token="$(curl -s -c "$jar" "$base/sign-in" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)"
curl -s -b "$jar" -c "$jar" -o /dev/null --data "csrf=$token&account=demo-officer&back=/runs" "$base/sign-in/demo"

measure() {
    local name="$1" path="$2"
    local times
    times="$(for _ in $(seq "$requests"); do
        curl -s -b "$jar" -o /dev/null -w '%{http_code} %{time_total}\n' "$base$path"
    done)"
    if echo "$times" | grep -qv '^200 '; then
        echo "$name: answers other than 200:"; echo "$times" | grep -v '^200 ' | sort | uniq -c | head; exit 1
    fi
    echo "$times" | awk -v name="$name" '{ print $2 * 1000 }' | sort -n | awk -v name="$name" -v path="$path" '
        { t[NR] = $1 }
        END { printf "%-22s %-44s p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  (%d requests)\n",
              name, path, t[int(NR * 0.5)], t[int(NR * 0.99)], t[NR], NR }'
}

echo "ansinh pages on the demo's run of $people people (release build), $requests requests each:"
measure "runs" "/runs"
measure "run" "/runs/1"
measure "exceptions (first)" "/runs/1/exceptions?kind=not_verified"
last="$(curl -s -b "$jar" "$base/runs/1/exceptions?kind=no_account" | sed -n 's/.*after=\([0-9-]*\.[0-9]*\).*/\1/p' | head -1)"
[ -n "$last" ] && measure "exceptions (page 2)" "/runs/1/exceptions?kind=no_account&after=$last"
measure "audit log of run 1" "/audit?run=1"
person="$(curl -s -b "$jar" "$base/runs/1/exceptions?kind=no_account" | sed -n 's|.*href="/runs/1/decisions/\([0-9]*\)?.*|\1|p' | head -1)"
[ -n "$person" ] && measure "a person's page" "/runs/1/decisions/$person"
if [ "${CHANGES:-0}" = 1 ]; then
    # The month after, evaluated by the demo's officer while the service runs: its change from run 1.
    as_officer=("$bin" --database-url "$dir/demo/ansinh.db" --config "$dir/demo/ansinh.toml" --token-file "$dir/demo/demo-officer.token")
    next="$("${as_officer[@]}" run create --program social-assistance --province 001 --period "${NEXT_PERIOD:-2024-10}" | tail -1)"
    "${as_officer[@]}" run evaluate "$next" > /dev/null 2>&1
    measure "changes from run 1" "/runs/$next/changes"
fi
measure "changes (no previous)" "/runs/1/changes"
measure "releases" "/releases"
measure "release 1 (cases run)" "/releases/1"

