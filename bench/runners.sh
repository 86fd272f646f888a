#!/usr/bin/env bash
# Issue 21, goal 6: one `cutover run` against two at once, on a workspace whose state and
# platform are on PostgreSQL (`cutover demo --state-url … --target-url …`). Runs K batches of
# SEGMENT with one process, then the next K with two processes (K/2 each), and prints each
# phase's platform rows per second and how often a backend of the server waited on a lock
# (pg_stat_activity sampled every 50 ms; LOCKS=0 turns the sampler off), and how busy the
# machine's cores were (from /proc/stat: busy core-seconds over the phase's wall time, and the
# share of it that was waiting on I/O). PHASES (below) picks the phases and their order.
#
#   bench/runners.sh CONFIG STATE_URL PLATFORM_URL [SEGMENT] [K]
set -euo pipefail
config=${1:?usage: bench/runners.sh CONFIG STATE_URL PLATFORM_URL [SEGMENT] [K]}
state=${2:?}
platform=${3:?}
segment=${4:-Regular}
k=${5:-8}
bin=${CUTOVER_BIN:-cutover}
# cpu: busy and iowait jiffies, from the first line of /proc/stat
cpu() { awk '/^cpu /{print $2+$3+$4+$7+$8, $6}' /proc/stat; }
rows() {
  psql "$platform" -Atc "SELECT (SELECT COUNT(*) FROM customers) + (SELECT COUNT(*) FROM devices)
    + (SELECT COUNT(*) FROM repairs) + (SELECT COUNT(*) FROM payments) + (SELECT COUNT(*) FROM communications)"
}
sample_locks() {
  local waits=0 samples=0
  # The sampler is a psql process every 50 ms: on 2 cores it takes CPU from the runners.
  if [ "${LOCKS:-1}" = 0 ]; then
    while [ ! -e "$1" ]; do sleep 0.05; done
    echo "locks not sampled"
    return
  fi
  while [ ! -e "$1" ]; do
    n=$(psql "$state" -Atc "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    waits=$((waits + n)); samples=$((samples + 1))
    sleep 0.05
  done
  echo "$waits lock waits in $samples samples"
}
phase() {
  local name=$1; shift
  local done_file; done_file=$(mktemp -u)
  sample_locks "$done_file" > "$done_file.locks" &
  local sampler=$!
  local before; before=$(rows)
  local cpu0; cpu0=$(cpu)
  local start; start=$(date +%s.%N)
  "$@"
  local end; end=$(date +%s.%N)
  local cpu1; cpu1=$(cpu)
  touch "$done_file"; wait "$sampler"
  local after; after=$(rows)
  local secs; secs=$(echo "$end - $start" | bc)
  local hz; hz=$(getconf CLK_TCK)
  local busy iow
  busy=$(echo "scale=2; (${cpu1% *} - ${cpu0% *}) / $hz / $secs" | bc)
  iow=$(echo "scale=2; (${cpu1#* } - ${cpu0#* }) / $hz / $secs" | bc)
  echo "$name: $((after - before)) platform rows in ${secs}s: $(echo "($after - $before) / $secs" | bc) rows/s; $(cat "$done_file.locks"); cores busy $busy of $(nproc), iowait $iow"
  rm -f "$done_file" "$done_file.locks"
}
"$bin" --config "$config" run --segment "$segment" --batch-size 1000 --batches 0 2>/dev/null
one() { "$bin" --config "$config" run --segment "$segment" --batches "$k" 2>/dev/null; }
two() {
  "$bin" --config "$config" run --segment "$segment" --batches $((k / 2)) 2>/dev/null &
  local other=$!
  "$bin" --config "$config" run --segment "$segment" --batches $((k / 2)) 2>/dev/null
  wait "$other"
}
# PHASES picks the phases and their order ("one two" by default). The second phase takes other
# customers than the first, from a state the first has changed, and the order moved the ratio
# (BENCHMARKS.md, "Two runners, each phase on its own copy"): a fairer comparison runs each
# phase alone ("one", then "two"), each on a fresh copy, so both move the same customers.
for p in ${PHASES:-one two}; do
  case $p in
    one) phase "1 runner, $k batches" one ;;
    two) phase "2 runners, $((k / 2)) batches each" two ;;
    *) echo "PHASES: unknown phase $p (one, two)" >&2; exit 2 ;;
  esac
done
psql "$state" -Atc "SELECT COUNT(*) || ' batches done twice' FROM (SELECT batch_id FROM steps WHERE step = 'notify'
  GROUP BY batch_id, customer_id HAVING COUNT(*) > 1) d"
