#!/usr/bin/env bash
# bench/million.sh: a province-month of PEOPLE people, phase by phase, on SQLite and on
# PostgreSQL side by side (issue 15).
#
# Each run is `ansinh demo --people PEOPLE` in a fresh folder (SQLite: its own file; PostgreSQL:
# a fresh database on PG_ADMIN's server), under /usr/bin/time -v: the demo's own times of its
# phases (import: registry and enrolments; evaluate; approve: the tally proposed and approved;
# issue: payments and the four files; audit:
# `audit verify` and `audit replay` of the run together), the whole demo, its peak resident
# memory, and the database's size per decision. RUNS runs a backend, one after another; the
# table gives each run's figures and their median. MONTHS=2 (or more) then evaluates the next
# months of the same province with `run evaluate`, timed as a whole (the report it prints, with
# the change from the month before, included): a month's run in a database that already holds
# the months before it.
#
# Run from the checkout, on a quiet machine, after a release build in the bench's own target dir:
#   CARGO_TARGET_DIR=target-bench nice cargo build --release -p ansinh
#   bench/million.sh                         # PEOPLE=1000000 RUNS=3 BACKENDS="sqlite postgres"
#   PEOPLE=200000 RUNS=1 bench/million.sh    # a quicker look
# Needs /usr/bin/time and psql (for the PostgreSQL databases it makes and drops).
set -euo pipefail
cd "$(dirname "$0")/.."
people="${PEOPLE:-1000000}"
runs="${RUNS:-3}"
months="${MONTHS:-1}"
backends="${BACKENDS:-sqlite postgres}"
bin="$(realpath "${ANSINH:-target-bench/release/ansinh}")"
export PGOPTIONS="-c client_min_messages=warning"
pg_admin="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
pg_base="${pg_admin%/*}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

# One demo on backend $1, run $2: prints "phase seconds" lines, then rss_mib, then bytes_per_decision.
one() {
    local backend="$1" n="$2" out="$dir/$1-$2"
    local db_name="ansinh_bench_$$_$n"
    mkdir -p "$out"
    if [ "$backend" = postgres ]; then
        psql -q -d "$pg_admin" -c "DROP DATABASE IF EXISTS $db_name" -c "CREATE DATABASE $db_name"
        export ANSINH_DATABASE_URL="$pg_base/$db_name"
    else
        unset ANSINH_DATABASE_URL
    fi
    /usr/bin/time -v "$bin" demo --people "$people" --dir "$out/demo" > "$out/demo.log" 2> "$out/time.log" || {
        cat "$out/demo.log" "$out/time.log" >&2
        exit 1
    }
    sed -n '/^Time:/,/in all/p' "$out/demo.log" | awk '$1 ~ /^(import|evaluate|approve|issue|audit)$/ {print $1, $2}
        $1 == "in" {print "whole", $3}'
    awk -F': ' '/Maximum resident set size/ {printf "rss_mib %.0f\n", $2 / 1024}' "$out/time.log"
    local decisions bytes
    decisions="$(sed -n 's/.* \([0-9,]*\) decisions checked against their digests.*/\1/p' "$out/demo.log" | tr -d ,)"
    if [ "$backend" = postgres ]; then
        bytes="$(psql -qtA -d "$ANSINH_DATABASE_URL" -c "SELECT pg_database_size(current_database())")"
    else
        bytes="$(du -cb "$out/demo/ansinh.db"* | tail -1 | cut -f1)"
    fi
    echo "bytes_per_decision $((bytes / decisions))"
    # The months after the demo's own (2024-09, its default), in its database, as its officer.
    local m=2 period="2024-09" run started
    local as=(--database-url "${ANSINH_DATABASE_URL:-$out/demo/ansinh.db}" --config "$out/demo/ansinh.toml"
        --token-file "$out/demo/demo-officer.token")
    while [ "$m" -le "$months" ]; do
        period="$(date -d "$period-01 +1 month" +%Y-%m)"
        run="$("$bin" "${as[@]}" run create --program social-assistance --province 001 --period "$period" 2>> "$out/create.log" | tail -1)"
        started="$(date +%s.%N)"
        "$bin" "${as[@]}" run evaluate "$run" > "$out/month$m.log" 2>&1 || { cat "$out/month$m.log" >&2; exit 1; }
        echo "month$m $(echo "$(date +%s.%N) - $started" | bc | awk '{printf "%.2f", $1}')"
        m=$((m + 1))
    done
    if [ "$backend" = postgres ]; then
        psql -q -d "$pg_admin" -c "DROP DATABASE $db_name WITH (FORCE)"
    fi
    rm -rf "$out/demo"
}

for backend in $backends; do
    for n in $(seq "$runs"); do
        echo "$backend run $n of $runs ($people people)..." >&2
        one "$backend" "$n" > "$dir/$backend.$n"
    done
done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# The checkout's commit is the binary's only when ANSINH is not given.
made_from="${ANSINH:+$bin}"
echo "ansinh demo --people $people, $runs runs a backend, $(nproc) cores; ${made_from:-$(git rev-parse --short HEAD)}"
printf '%-20s' "phase"
for backend in $backends; do printf '| %-34s' "$backend: median (runs)"; done
echo
for phase in import evaluate approve issue audit whole rss_mib bytes_per_decision $(seq -f 'month%g' 2 "$months"); do
    case "$phase" in
        month*) label="month ${phase#month}: evaluate s" ;;
        audit) label="verify + replay s" ;; rss_mib) label="peak RSS MiB" ;;
        bytes_per_decision) label="bytes a decision" ;; *) label="$phase s" ;;
    esac
    printf '%-20s' "$label"
    for backend in $backends; do
        values="$(for n in $(seq "$runs"); do awk -v p="$phase" '$1 == p {print $2}' "$dir/$backend.$n"; done)"
        printf '| %-8s (%s)%*s' "$(echo "$values" | median)" "$(echo "$values" | paste -sd' ')" 0 ''
        printf '%*s' $((24 - $(echo "$values" | paste -sd' ' | wc -c))) ''
    done
    echo
done
