#!/usr/bin/env bash
# bench/workers.sh: workers that share a run through PostgreSQL, on the release build (issue 16).
#
#   MODE=kill (default; PEOPLE=200000): the kill test of tests/workers.rs at scale. Two databases
#     seeded alike (`ansinh demo --until-created`: the same people, release and run 1); the first
#     evaluated by one process (`run evaluate`), the second by WORKERS=3 `ansinh worker`s while a
#     random one is killed with SIGKILL at a random moment KILLS=20 times and started again. Then
#     the two runs' outcomes, totals and decision chains side by side, the claims each shard took,
#     and `audit verify` of the second. Then the run approved and issued by two `run issue` at
#     once, one killed at a random moment: the payments against the people, and the files.
#   MODE=scale (PEOPLE=1000000): the same run evaluated by `run evaluate` in its own process (0
#     workers), then by 1 and 2 worker processes (COUNTS="0 1 2"), each of THREADS threads
#     (default: the cores shared out, so 1 each with 2 workers), each on a fresh database: wall
#     time from the command to evaluated, decisions a second, and each process's peak resident memory.
#   MODE=replay (PEOPLE=200000): a run evaluated once, then replayed whole by `audit replay 1` in
#     its own process (0 workers) and by 1 and 2 worker processes (`audit replay 1 --queue`, the
#     job cut into parts that the workers share; COUNTS="0 1 2", THREADS as for scale): wall time,
#     decisions replayed a second, each process's peak resident memory, and the verdict.
#
# Run from the checkout on a quiet machine, after
#   CARGO_TARGET_DIR=target-bench nice cargo build --release -p ansinh
#   bench/workers.sh                          # the kill test at 200,000
#   MODE=scale bench/workers.sh               # 1 and 2 workers at 1,000,000
#   MODE=replay bench/workers.sh              # a whole replay by 1 and 2 workers at 200,000
# Needs /usr/bin/time and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${MODE:-kill}"
if [ "$mode" = scale ]; then people="${PEOPLE:-1000000}"; else people="${PEOPLE:-200000}"; fi
bin="$(realpath "${ANSINH:-target-bench/release/ansinh}")"
export PGOPTIONS="-c client_min_messages=warning"
pg_admin="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
pg_base="${pg_admin%/*}"
dir="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

# A fresh database $1 holding the demo's people, release and run 1, not evaluated; its demo folder $dir/$1.
seed() {
    psql -q -d "$pg_admin" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
    ANSINH_DATABASE_URL="$pg_base/$1" "$bin" demo --people "$people" --dir "$dir/$1" --until-created >/dev/null 2>&1
}

# As the demo's officer, on database $1.
as_officer() {
    local db="$1"
    shift
    ANSINH_DATABASE_URL="$pg_base/$db" "$bin" --config "$dir/$db/ansinh.toml" \
        --token-file "$dir/$db/demo-officer.token" "$@"
}

# Start a worker on database $1 with $2 threads and lease $3 seconds, its log appended to $dir/$1.log;
# under /usr/bin/time -v into $4 if given. Sets $started to the worker's pid.
start_worker() {
    local db="$1" threads="$2" lease="$3" timing="${4:-}"
    local cmd=("$bin" --config "$dir/$db/ansinh.toml" --workers "$threads" worker --listen 127.0.0.1:0
        --job-lease "$lease" --outbox "$dir/$db/outbox")
    if [ -n "$timing" ]; then cmd=(/usr/bin/time -v -o "$timing" "${cmd[@]}"); fi
    ANSINH_DATABASE_URL="$pg_base/$db" ANSINH_LOG=warn "${cmd[@]}" >/dev/null 2>>"$dir/$db.log" &
    started=$!
    pids+=("$started")
    # Killed on purpose: no word from the shell about it.
    if [ -z "$timing" ]; then disown "$started"; fi
}

# Start $2 workers of $3 threads each on database $1, each under /usr/bin/time -v; their
# timing files in $timings.
start_timed() {
    local db="$1" count="$2" threads="$3"
    timings=()
    for i in $(seq "$count"); do
        start_worker "$db" "$threads" 30 "$dir/time-$count-$i"
        timings+=("$dir/time-$count-$i")
    done
}

# As the demo's officer on database $1, in a process of its own with $2 threads, under
# /usr/bin/time -v (its timing file added to $timings); its stderr to $dir/alone.log.
timed_alone() {
    local db="$1" threads="$2"
    shift 2
    timings+=("$dir/time-0")
    /usr/bin/time -v -o "$dir/time-0" env ANSINH_DATABASE_URL="$pg_base/$db" "$bin" --workers "$threads" \
        --config "$dir/$db/ansinh.toml" --token-file "$dir/$db/demo-officer.token" "$@" 2>"$dir/alone.log" ||
        { cat "$dir/alone.log" >&2; exit 1; }
}

# SIGTERM to each timed worker (the child of its /usr/bin/time), which then reports its peak;
# $rss: the peak resident memory (MiB) of each process timed.
stop_timed() {
    for pid in "${pids[@]}"; do pkill -TERM -P "$pid" || true; done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
    pids=()
    rss="$(for f in "${timings[@]}"; do awk -F': ' '/Maximum resident/ {printf "%.0f ", $2 / 1024}' "$f"; done)"
}

# What run 1 of database $1 decided: per outcome, how many and their sum; then its sealed chain.
decided() {
    psql -qtA -d "$pg_base/$1" -c "SELECT string_agg(outcome || ' ' || n || ' ' || total, '; ' ORDER BY outcome)
        FROM (SELECT outcome, COUNT(*) AS n, SUM(amount) AS total FROM decisions WHERE run_id = 1
        GROUP BY outcome) AS by_outcome"
    psql -qtA -d "$pg_base/$1" -c "SELECT CAST(details AS json)->'decisions' FROM audit_log
        WHERE action = 'run.evaluate'"
}

seconds() { date +%s.%N; }

if [ "$mode" = kill ]; then
    workers="${WORKERS:-3}"
    kills="${KILLS:-20}"
    RANDOM=16
    echo "== $people people, PostgreSQL, release build $("$bin" --version)"
    one="ansinh_workers_one_$$" many="ansinh_workers_many_$$"
    seed "$one"
    start="$(seconds)"
    as_officer "$one" run evaluate 1 >/dev/null
    echo "one process ($(nproc) threads): evaluated in $(printf '%.1f' "$(echo "$(seconds) - $start" | bc)") s"
    seed "$many"
    declare -a running
    for i in $(seq "$workers"); do start_worker "$many" 1 5; running[i]=$started; done
    start="$(seconds)"
    as_officer "$many" run evaluate 1 --queue >/dev/null 2>"$dir/queue.log" &
    following=$!
    mid=0
    for k in $(seq "$kills"); do
        sleep "$(printf '0.%03d' $((RANDOM % 1000)))"
        sleep $((RANDOM % 3))
        status="$(psql -qtA -d "$pg_base/$many" -c "SELECT status FROM runs WHERE id = 1")"
        [ "$status" = created ] && mid=$((mid + 1))
        victim=$((RANDOM % workers + 1))
        kill -9 "${running[victim]}"
        start_worker "$many" 1 5
        running[victim]=$started
        echo "  kill $k: worker $victim (run $status)"
    done
    wait "$following" || { cat "$dir/queue.log" "$dir/$many.log" >&2; exit 1; }
    echo "$workers workers of 1 thread, $kills kills ($mid while the run was being decided): evaluated in" \
        "$(printf '%.1f' "$(echo "$(seconds) - $start" | bc)") s"
    decisions="$(psql -qtA -d "$pg_base/$many" -c "SELECT COUNT(*) FROM decisions WHERE run_id = 1")"
    enrolled="$(psql -qtA -d "$pg_base/$many" -c "SELECT COUNT(*) FROM beneficiaries")"
    echo "decisions $decisions of $enrolled beneficiaries (one each: the unique key on run, month, beneficiary)"
    psql -qtA -d "$pg_base/$many" -c "SELECT 'shards ' || COUNT(*) || ', claims ' || SUM(attempts) || ', most claims of one '
        || MAX(attempts) || ', unfinished ' || COUNT(*) FILTER (WHERE finished_at IS NULL) FROM shards"
    echo "one process:  $(decided "$one" | paste -sd '|' | sed 's/|/\n              chain /')"
    echo "the workers:  $(decided "$many" | paste -sd '|' | sed 's/|/\n              chain /')"
    if [ "$(decided "$one")" = "$(decided "$many")" ]; then echo "SAME outcomes, totals and decision chain"; else
        echo "DIFFERENT"; exit 1; fi
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    pids=()
    checksum="$(as_officer "$many" run show 1 | sed -n 's/.*--checksum \([0-9a-f]*\).*/\1/p' | head -1)"
    ANSINH_DATABASE_URL="$pg_base/$many" "$bin" --config "$dir/$many/ansinh.toml" \
        --token-file "$dir/$many/demo-approver.token" run approve 1 --checksum "$checksum" >/dev/null
    outbox="$dir/$many/outbox"
    # exec: $! is ansinh itself, so that the kill reaches it and not a shell around it.
    (exec env ANSINH_DATABASE_URL="$pg_base/$many" "$bin" --config "$dir/$many/ansinh.toml" \
        --token-file "$dir/$many/demo-officer.token" run issue 1 --outbox "$outbox" >/dev/null 2>&1) &
    killed=$!
    as_officer "$many" run issue 1 --outbox "$outbox" >/dev/null 2>"$dir/issue.log" &
    survivor=$!
    sleep "$(printf '%d.%03d' $((RANDOM % 3)) $((RANDOM % 1000)))"
    kill -9 "$killed" 2>/dev/null && echo "two run issue at once; one killed" || echo "two run issue at once; one ended before its kill"
    wait "$killed" 2>/dev/null || true
    wait "$survivor" || { cat "$dir/issue.log" >&2; exit 1; }
    psql -qtA -d "$pg_base/$many" -c "SELECT 'payments ' || (SELECT COUNT(*) FROM payments) || ' and cash list '
        || (SELECT COUNT(*) FROM cash_payments) || ' for ' || (SELECT COUNT(*) FROM (SELECT program, period, id_number
        FROM payments UNION SELECT program, period, id_number FROM cash_payments) AS paid) || ' people; payable '
        || (SELECT COUNT(*) FROM decisions WHERE run_id = 1 AND outcome IN ('payable', 'no_account') AND amount > 0)"
    echo "files: $(find "$outbox" -maxdepth 1 -type f ! -name '.*' | wc -l) in the outbox;" \
        "$(find "$outbox" -maxdepth 1 -name '.*' | wc -l) partial left by the killed one (hidden, never sent)"
    as_officer "$many" run issue 1 --outbox "$outbox" >/dev/null && echo "issued again: the same bytes (the outbox refuses others)"
    as_officer "$many" audit verify | grep -E '^(VERIFIED|FIRST PROBLEM)' 
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    pids=()
    psql -q -d "$pg_admin" -c "DROP DATABASE $one WITH (FORCE)" -c "DROP DATABASE $many WITH (FORCE)"
elif [ "$mode" = replay ]; then
    echo "== $people people, PostgreSQL, release build $("$bin" --version), $(nproc) cores: audit replay 1"
    db="ansinh_workers_replay_$$"
    seed "$db"
    as_officer "$db" run evaluate 1 >/dev/null
    decisions="$(psql -qtA -d "$pg_base/$db" -c "SELECT COUNT(*) FROM decisions WHERE run_id = 1")"
    printf '%-8s %-8s %10s %12s  %-34s %s\n' workers threads seconds decisions/s "peak RSS of each process (MiB)" verdict
    for count in ${COUNTS:-0 1 2}; do
        threads="${THREADS:-$(( count > 1 ? $(nproc) / count : $(nproc) ))}"
        start_timed "$db" "$count" "$threads"
        start="$(seconds)"
        if [ "$count" = 0 ]; then
            timed_alone "$db" "$threads" audit replay 1 >"$dir/replay.out"
        else
            as_officer "$db" audit replay 1 --queue >"$dir/replay.out" 2>"$dir/replay.log" ||
                { cat "$dir/replay.log" "$dir/$db.log" >&2; exit 1; }
        fi
        verdict="$(tail -1 "$dir/replay.out")"
        took="$(echo "$(seconds) - $start" | bc)"
        stop_timed
        printf '%-8s %-8s %10.1f %12.0f  %-34s %s\n' "$count" "$threads" "$took" "$(echo "$decisions / $took" | bc -l)" \
            "$rss" "${verdict%%:*}"
    done
    psql -qtA -d "$pg_base/$db" -c "SELECT 'parts ' || COUNT(*) || ' of ' || COUNT(DISTINCT job_id) || ' jobs, claims '
        || SUM(attempts) FROM job_parts"
    psql -q -d "$pg_admin" -c "DROP DATABASE $db WITH (FORCE)"
else
    echo "== $people people, PostgreSQL, release build $("$bin" --version), $(nproc) cores"
    printf '%-8s %-8s %10s %12s  %s\n' workers threads seconds decisions/s "peak RSS of each process (MiB)"
    for count in ${COUNTS:-0 1 2}; do
        threads="${THREADS:-$(( count > 1 ? $(nproc) / count : $(nproc) ))}"
        db="ansinh_workers_scale_$$_$count"
        seed "$db"
        start_timed "$db" "$count" "$threads"
        start="$(seconds)"
        if [ "$count" = 0 ]; then
            timed_alone "$db" "$threads" run evaluate 1 >/dev/null
        else
            as_officer "$db" run evaluate 1 --queue >/dev/null 2>"$dir/queue.log" ||
                { cat "$dir/queue.log" "$dir/$db.log" >&2; exit 1; }
        fi
        took="$(echo "$(seconds) - $start" | bc)"
        decisions="$(psql -qtA -d "$pg_base/$db" -c "SELECT COUNT(*) FROM decisions WHERE run_id = 1")"
        stop_timed
        printf '%-8s %-8s %10.1f %12.0f  %s\n' "$count" "$threads" "$took" "$(echo "$decisions / $took" | bc -l)" "$rss"
        psql -q -d "$pg_admin" -c "DROP DATABASE $db WITH (FORCE)"
    done
fi
