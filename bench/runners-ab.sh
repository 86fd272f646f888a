#!/usr/bin/env bash
# Issue 21, goal 6, each phase on its own copy: PAIRS times, one `cutover run` for K batches of
# SEGMENT, then two at once (K/2 each), each on a fresh copy of the demo DEMO_DIR, so both move
# the same customers from the same state (bench/runners.sh with PHASES=one, then PHASES=two).
# The demo's state and platform must be on PostgreSQL (`cutover demo --state-url … --target-url
# …`). Prints both phases' lines and the pair's speed-up.
#
#   bench/runners-ab.sh DEMO_DIR PAIRS [SEGMENT] [K]
set -euo pipefail
usage="usage: bench/runners-ab.sh DEMO_DIR PAIRS [SEGMENT] [K]"
demo=$(cd "${1:?$usage}" && pwd)
pairs=${2:?$usage}
segment=${3:-Regular}
k=${4:-8}
here=$(dirname "$0")
copy=${TMPDIR:-/tmp}/cutover-ab
# shellcheck source=bench/fresh.sh
. "$here/fresh.sh"
run() {
  fresh "$demo" "$copy"
  local state platform
  state=$(fresh_url "$copy" state)
  platform=$(fresh_url "$copy" target)
  case "$state $platform" in
    postgres://*" "postgres://*) ;;
    *) echo "$demo: state and platform must be on PostgreSQL" >&2; exit 2 ;;
  esac
  LOCKS=${LOCKS:-0} PHASES=$1 "$here/runners.sh" "$copy/cutover.toml" "$state" "$platform" "$segment" "$k"
}
for _ in $(seq "$pairs"); do
  one=$(run one); echo "$one"
  two=$(run two); echo "$two"
  r1=$(echo "$one" | grep -o '[0-9]* rows/s' | head -1 | cut -d' ' -f1)
  r2=$(echo "$two" | grep -o '[0-9]* rows/s' | head -1 | cut -d' ' -f1)
  echo "speed-up $(echo "scale=2; $r2 / $r1" | bc)"
done
