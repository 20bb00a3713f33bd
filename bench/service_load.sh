#!/usr/bin/env bash
# bench/service_load.sh: the service under read load while it evaluates a run (issue 13).
#
# Measures, on loopback, CONNECTIONS concurrent wrk clients reading a run's summary
# (GET /v1/runs/1) and its exception pages (GET /v1/runs/1/exceptions?kind=…) while the same
# `ansinh serve` evaluates a run of PEOPLE people as a job: the clients' requests per second,
# latency p50/p99, answers that were not 2xx, socket errors and timeouts; and the evaluation's
# rate (decisions/s, from the job's started_at/finished_at) against the same evaluation with no
# load, and their ratio.
#
# Reading an exception page is a write: each page appends a `personal.read` entry to the
# hash-chained audit log (Decree 13), so the "mixed" variant writes once per exception read.
# The "summaries" variant reads run summaries only, which write nothing, so the cost is visible.
#
# What it does: `ansinh demo --people PEOPLE` in a temp dir (run 1, evaluated and issued, with
# exceptions), then runs 2.. for the same province and programme, later periods, so that every
# evaluation is of the same population; `ansinh serve` on a free port; evaluates run 2 with no
# load (the baseline); then, per variant, starts wrk and, WARMUP seconds in, evaluates the next
# run; wrk's DURATION must outlast the evaluation (the script says if it did not).
#
# Run from the checkout, after a release build in the bench's own target dir:
#   CARGO_TARGET_DIR=target-bench nice cargo build --release -p ansinh
#   bench/service_load.sh                                   # SQLite (the default)
#   DATABASE=postgres bench/service_load.sh                 # a fresh PostgreSQL database, dropped after
#   REPEAT=3 PEOPLE=100000 CONNECTIONS=200 bench/service_load.sh
# Needs wrk (Debian: apt-get install wrk), curl, jq, and for PostgreSQL psql.
#
# Settings (environment):
#   PEOPLE=100000        people in the demo population (each evaluation decides this many)
#   CONNECTIONS=200      concurrent wrk connections;  THREADS=2  wrk threads
#   DURATION=auto        wrk seconds; auto: WARMUP + 15 x the baseline evaluation + 15, at least 30
#   WARMUP=3             seconds of load before the evaluation starts
#   TIMEOUT=10s          wrk's per-request timeout (slower answers count as timeouts)
#   VARIANTS="mixed summaries"  mixed: summary, no_account page, summary, not_verified page;
#                        summaries: GET /v1/runs/1 only
#   REPEAT=1             repetitions (each a fresh demo database); prints medians when > 1
#   BIN=target-bench/release/ansinh
#   DATABASE=sqlite      or postgres: PG_URL (postgres://postgres@127.0.0.1:5432) gets a fresh
#                        database bench_<pid>_<rep>, dropped at the end
#   KEEP=0               1 keeps the temp dir (databases, server log, wrk output)
#   CARGO_TARGET_DIR     where the demo builds its plug-in; defaults to target-bench
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEOPLE=${PEOPLE:-100000}
CONNECTIONS=${CONNECTIONS:-200}
THREADS=${THREADS:-2}
DURATION=${DURATION:-auto}
WARMUP=${WARMUP:-3}
TIMEOUT=${TIMEOUT:-10s}
VARIANTS=${VARIANTS:-mixed summaries}
REPEAT=${REPEAT:-1}
BIN=${BIN:-$ROOT/target-bench/release/ansinh}
DATABASE=${DATABASE:-sqlite}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
KEEP=${KEEP:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-bench}
LUA=$ROOT/bench/service_load.lua

for tool in wrk curl jq; do
  command -v "$tool" >/dev/null || { echo "service_load: $tool is needed (apt-get install $tool)" >&2; exit 2; }
done
[[ -x $BIN ]] || { echo "service_load: no binary at $BIN; build it (see the header) or set BIN" >&2; exit 2; }
case $DATABASE in sqlite | postgres) ;; *) echo "service_load: DATABASE is sqlite or postgres" >&2; exit 2 ;; esac
[[ $DATABASE == postgres ]] && { command -v psql >/dev/null || { echo "service_load: psql is needed" >&2; exit 2; }; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ansinh-load.XXXXXX")
SERVER_PID='' WRK_PID='' PG_DB=''
cleanup() {
  [[ -n $WRK_PID ]] && kill "$WRK_PID" 2>/dev/null || true
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  [[ -n $PG_DB ]] && psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
  if [[ $KEEP == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
epoch() { date -d "$1" +%s.%N; } # RFC 3339, fractions kept
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# A wrk latency ("812.00us", "12.34ms", "1.20s", "2.00m") in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
  f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; printf "%.2f", n * f }'; }

# personal.read entries in the audit log of database $1 ("?" without sqlite3/psql).
audit_reads() {
  local q="SELECT count(*) FROM audit_log WHERE action = 'personal.read'"
  if [[ $1 == postgres://* ]]; then psql -tA "$1" -c "$q" 2>/dev/null || echo '?'
  elif command -v sqlite3 >/dev/null; then sqlite3 "$1" "$q" 2>/dev/null || echo '?'
  else echo '?'; fi
}

RESULTS=$WORK/results # one line per measurement: REP KEY VALUE

# Evaluates run $1 through the API; prints "DECISIONS SECONDS RATE" from the finished job.
evaluate() {
  local run=$1 job='' state json try
  for ((try = 1; try <= 10; try++)); do # under load, the POST itself may be refused (say, 5xx)
    job=$(curl -sf -X POST -H "Authorization: Bearer $TOKEN" "$API/v1/runs/$run/evaluate" | jq -r .job) && break
    echo "service_load: POST /v1/runs/$run/evaluate failed (attempt $try)" >&2
    sleep 1
  done
  [[ -n $job ]] || return 1
  while :; do
    json=$(curl -sf -H "Authorization: Bearer $TOKEN" "$API/v1/jobs/$job") || { sleep 0.5; continue; }
    state=$(jq -r .state <<<"$json")
    [[ -n ${PROGRESS:-} ]] && echo "$(date +%s.%N) $(jq -r .done <<<"$json")" >>"$PROGRESS"
    [[ $state == done || $state == failed ]] && break
    sleep 0.5
  done
  [[ $state == done ]] || { echo "service_load: job $job of run $run failed: $(jq -r .error <<<"$json")" >&2; return 1; }
  local decided started finished seconds
  decided=$(jq -r .done <<<"$json")
  started=$(epoch "$(jq -r .started_at <<<"$json")")
  finished=$(epoch "$(jq -r .finished_at <<<"$json")")
  seconds=$(calc "$finished - $started" 3)
  printf '%s %s %s %s\n' "$decided" "$seconds" "$(calc "$decided / $seconds" 0)" "$finished"
}

one_repetition() {
  local rep=$1 dir=$WORK/rep$rep url
  mkdir -p "$dir"
  local -a dburl=()
  if [[ $DATABASE == postgres ]]; then
    PG_DB=bench_$$_$rep
    psql -q "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
    url=$PG_URL/$PG_DB
    dburl=(--database-url "$url")
  else
    url=$dir/demo/ansinh.db
  fi

  say "== repetition $rep of $REPEAT: $DATABASE, $PEOPLE people, $CONNECTIONS connections; load average $(load) on $(nproc) cores"
  local t0=$SECONDS
  "$BIN" "${dburl[@]}" demo --people "$PEOPLE" --dir "$dir/demo" >"$dir/demo.log" 2>&1 \
    || { cat "$dir/demo.log" >&2; return 1; }
  say "demo database made in $((SECONDS - t0)) s (run 1: evaluated and issued)"
  TOKEN=$(<"$dir/demo/demo-officer.token")
  TOKEN=${TOKEN//[$'\r\n ']/}

  # Runs to evaluate: the baseline's and one per variant, each a later month, same people.
  local -a runs=() periods=(2024-10 2024-11 2024-12 2025-01 2025-02 2025-03 2025-04)
  local n=$((1 + $(wc -w <<<"$VARIANTS"))) i
  ((n <= ${#periods[@]})) || { echo "service_load: at most $((${#periods[@]} - 1)) variants" >&2; return 1; }
  for ((i = 0; i < n; i++)); do
    runs+=("$("$BIN" --database-url "$url" --config "$dir/demo/ansinh.toml" --token-file "$dir/demo/demo-officer.token" run create \
      --program social-assistance --province 001 --period "${periods[i]}" 2>>"$dir/create.log")") \
      || { cat "$dir/create.log" >&2; return 1; }
  done

  NO_COLOR=1 "$BIN" --database-url "$url" --config "$dir/demo/ansinh.toml" serve --listen 127.0.0.1:0 \
    --outbox "$dir/outbox" >"$dir/serve.out" 2>"$dir/serve.err" &
  SERVER_PID=$!
  for ((i = 0; i < 100; i++)); do
    grep -q '^Listening on ' "$dir/serve.out" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/serve.err" >&2; return 1; }
    sleep 0.1
  done
  API=$(sed -n 's/^Listening on //p' "$dir/serve.out" | head -1)
  [[ -n $API ]] || { echo "service_load: the server did not say where it listens" >&2; return 1; }
  curl -sf "$API/readyz" >/dev/null

  # What the clients read: the first page of each kind is 100 people (or fewer).
  local kind count
  for kind in no_account not_verified; do
    count=$(curl -sf -H "Authorization: Bearer $TOKEN" "$API/v1/runs/1/exceptions?kind=$kind" | jq '.exceptions | length')
    say "run 1, first page of $kind: $count exceptions"
  done

  # Baseline: no load.
  local base
  base=$(evaluate "${runs[0]}")
  read -r b_done b_secs b_rate _ <<<"$base"
  say "baseline: run ${runs[0]} evaluated with no load: $b_done decisions in $b_secs s = $b_rate decisions/s (load average $(load))"
  echo "$rep baseline_rate $b_rate" >>"$RESULTS"

  local duration=$DURATION
  if [[ $duration == auto ]]; then
    duration=$(awk -v w="$WARMUP" -v s="$b_secs" 'BEGIN { d = int(w + 15 * s + 15); print (d < 30) ? 30 : d }')
  fi

  local variant paths k=1
  for variant in $VARIANTS; do
    case $variant in
      mixed) paths="/v1/runs/1,/v1/runs/1/exceptions?kind=no_account,/v1/runs/1,/v1/runs/1/exceptions?kind=not_verified" ;;
      summaries) paths="/v1/runs/1" ;;
      exceptions) paths="/v1/runs/1/exceptions?kind=no_account,/v1/runs/1/exceptions?kind=not_verified" ;;
      *) echo "service_load: unknown variant $variant (mixed, summaries, exceptions)" >&2; return 1 ;;
    esac
    local run=${runs[k]} out=$dir/wrk-$variant.txt locked_before
    k=$((k + 1))
    locked_before=$(grep -ci 'locked' "$dir/serve.err" || true)
    local reads_before reads_after
    reads_before=$(audit_reads "$url")
    BENCH_PATHS=$paths BENCH_TOKEN=$TOKEN wrk -t"$THREADS" -c"$CONNECTIONS" -d"${duration}s" --timeout "$TIMEOUT" \
      --latency -s "$LUA" "$API" >"$out" 2>&1 &
    WRK_PID=$!
    local wrk_started
    wrk_started=$(date +%s.%N)
    sleep "$WARMUP"
    local loaded progress=$dir/progress-$variant
    loaded=$(PROGRESS=$progress evaluate "$run")
    read -r l_done l_secs l_rate l_finished <<<"$loaded"
    wait "$WRK_PID" || { cat "$out" >&2; return 1; }
    WRK_PID=''
    local wrk_ended covered=yes
    wrk_ended=$(calc "$wrk_started + $duration" 3)
    awk -v f="$l_finished" -v e="$wrk_ended" 'BEGIN { exit !(f <= e) }' || covered="NO: the evaluation outlasted wrk, make DURATION longer"
    # Decisions done while wrk was still running (the last poll before it ended), and since when.
    local under_load
    under_load=$(awk -v e="$wrk_ended" '$1 <= e { t = $1; d = $2 } END { printf "%d %.3f\n", d, t }' "$progress")

    local rps p50 p99 non2xx sockerr reqs timeouts statuses
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    reqs=$(awk '/requests in/ { print $1 }' "$out")
    p50=$(ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ { print $2 }' "$out")
    non2xx=${non2xx:-0}
    sockerr=$(grep 'Socket errors' "$out" | sed 's/^ *Socket errors: *//' || true)
    timeouts=$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' "$out" | head -1)
    timeouts=${timeouts:-0}
    statuses=$(awk '$1 == "status" { printf "%s%s=%s", sep, $2, $3; sep = " " }' "$out")
    reads_after=$(audit_reads "$url")
    local locked
    locked=$(($(grep -ci 'locked' "$dir/serve.err" || true) - locked_before))

    say "-- $variant: $CONNECTIONS connections for ${duration} s (evaluation from ${WARMUP} s in); paths: $paths"
    say "   personal.read entries appended to the audit log meanwhile: $(
      [[ $reads_before == '?' || $reads_after == '?' ]] && echo '?' || echo $((reads_after - reads_before))
    ) (each exception page read is a write to the hash-chained log; a summary read writes nothing)"
    say "   wrk: $reqs requests, $rps requests/s; latency p50 $p50 ms, p99 $p99 ms; non-2xx $non2xx; answers by status: ${statuses:-?}"
    say "   socket errors: ${sockerr:-none}; 'locked' in the server log: $locked"
    say "   evaluation of run $run under load: $l_done decisions in $l_secs s = $l_rate decisions/s;" \
      "against the baseline $(calc "$l_rate / $b_rate" 3); covered by wrk: $covered (load average $(load))"
    if [[ $covered != yes ]]; then
      read -r ul_done ul_at <<<"$under_load"
      say "   of which done while wrk ran: $ul_done decisions by $(calc "$ul_at - $wrk_started" 1) s into wrk's ${duration} s"
    fi
    [[ $l_done == "$b_done" ]] || say "   WARNING: $l_done decisions under load, $b_done in the baseline"
    {
      echo "$rep ${variant}_rps $rps"
      echo "$rep ${variant}_p50_ms $p50"
      echo "$rep ${variant}_p99_ms $p99"
      echo "$rep ${variant}_non2xx $non2xx"
      echo "$rep ${variant}_timeouts $timeouts"
      echo "$rep ${variant}_locked $locked"
      echo "$rep ${variant}_eval_rate $l_rate"
      echo "$rep ${variant}_eval_ratio $(calc "$l_rate / $b_rate" 3)"
    } >>"$RESULTS"
    [[ $covered == yes ]] || echo "$rep ${variant}_not_covered 1" >>"$RESULTS"
  done

  local errors log=$dir/serve.log
  sed 's/\x1b\[[0-9;]*m//g' "$dir/serve.err" >"$log"
  errors=$(grep -c -E ' (ERROR|WARN) ' "$log" || true)
  say "server log: $errors ERROR/WARN lines ($(grep -ci 'database is locked' "$log" || true) 'database is locked'); the commonest:"
  grep -E ' (ERROR|WARN) ' "$log" | sed -E 's/^[^ ]+ +//' | cut -c1-200 | sort | uniq -c | sort -rn | head -5 | sed 's/^/   /' || true
  echo "$rep server_errors $errors" >>"$RESULTS"

  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=''
  if [[ -n $PG_DB ]]; then psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null; PG_DB=''; fi
  [[ $KEEP == 1 ]] || rm -rf "$dir/demo/outbox" "$dir/demo"/*.csv
}

say "ansinh service under load: $(uname -srm), $(nproc) cores, $BIN"
for ((rep = 1; rep <= REPEAT; rep++)); do
  one_repetition "$rep"
  say
done

if ((REPEAT > 1)); then
  say "== medians of $REPEAT repetitions"
  printf '%-26s %12s   %s\n' measurement median "each repetition"
  for key in $(awk '{ print $2 }' "$RESULTS" | awk '!seen[$0]++'); do
    values=$(awk -v k="$key" '$2 == k { print $3 }' "$RESULTS")
    printf '%-26s %12s   %s\n' "$key" "$(median <<<"$values")" "$(tr '\n' ' ' <<<"$values")"
  done
fi
