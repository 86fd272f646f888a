#!/bin/bash
# `cutover plan` with each binary in turn, RUNS rounds, files in the OS cache first (BENCHMARKS.md,
# "`cutover plan` at 10^6 customers"). Usage: bench/plan-ab.sh CONFIG RUNS BIN...
# With FIRST=1 the workspace's state.db is removed before each run (a first plan; the state must
# be SQLite in the config's directory). Prints wall time, CPU, peak RSS, then the plan's own
# phase ends in seconds: audit, writing (inside the stream), stream, batches, summary.
set -euo pipefail
cfg=$1; runs=$2; shift 2
dir=$(dirname "$cfg")
logs=~/.local/share/cutover/logs   # the daily log files (`cutover.YYYY-MM-DD.log`)
for _ in $(seq "$runs"); do
  for bin in "$@"; do
    [ "${FIRST:-0}" = 1 ] && rm -f "$dir"/state.db*
    rm -f "$logs"/cutover.*
    cat "$dir"/*.db* > /dev/null
    t=$( { CUTOVER_LOG=cutover=debug /usr/bin/time -f "%e s %U user %S sys %M KB" "$bin" --config "$cfg" plan > /dev/null; } 2>&1 )
    log=$(ls -t "$logs"/cutover.* | head -1)
    phases=$(grep -o 'seconds=[0-9.]*\|writing=[0-9.]*' "$log" | tail -5 | cut -d= -f2 | xargs printf "%.1f ")
    echo "$(basename "$bin"): $t | $phases"
  done
done
