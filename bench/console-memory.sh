#!/bin/bash
# The console's resident memory while it scores every customer at start (BENCHMARKS.md,
# "Health scoring at 10^6 customers"). Usage: bench/console-memory.sh BIN WORKSPACE_DIR [SECONDS]
# Ages the health runs so the console scores everyone, runs it in tmux at 200x50, samples VmRSS
# each second, prints the peak and VmHWM, quits with q. The workspace's state must be SQLite.
set -euo pipefail
bin=$1; dir=$2; secs=${3:-60}
sqlite3 "$dir/state.db" "UPDATE health_runs SET started_at = '2000-01-01T00:00:00Z'"
tmux kill-session -t cutover-mem 2>/dev/null || true
tmux new -d -s cutover-mem -x 200 -y 50 "$bin --config $dir/cutover.toml"
sleep 2
pid=$(pgrep -f "^$bin --config $dir/cutover.toml" | head -1)
[ -n "$pid" ] || { echo "the console did not start" >&2; exit 1; }
peak=0
for _ in $(seq "$secs"); do
  sleep 1
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$peak" ] && peak=$rss
done
echo "$(basename "$bin") $dir: sampled peak ${peak} kB, $(grep VmHWM "/proc/$pid/status" | tr -s ' \t' ' '), cpu $(ps -o time= -p "$pid")"
tmux send-keys -t cutover-mem q
sleep 2
tmux kill-session -t cutover-mem 2>/dev/null || true
