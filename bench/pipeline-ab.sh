#!/usr/bin/env bash
# Issue 21: `cutover bench pipeline` with each binary in turn, PAIRS times, each run on a fresh
# copy of one demo workspace, so that two builds are compared on the same customers and the
# machine's drift falls on both (BENCHMARKS.md cites it for every "alternating" figure).
#
#   bench/pipeline-ab.sh DEMO_DIR PAIRS BATCHES BATCH_SIZE BIN...
#
# DEMO_DIR is what `cutover demo --dir` wrote. Its directory is copied to $TMPDIR/cutover-ab
# before each run; a database of its config on PostgreSQL (`--state-url`, `--target-url`) is
# copied too, by `CREATE DATABASE <name>_ab TEMPLATE <name>`. Prints one line a run: the binary,
# its rows/s and seconds, its statements per batch and its peak resident memory.
#
# SERVER_TIME=1 (PostgreSQL only): also sums the server's own time per statement, from its log
# (`log_min_duration_statement = 0` on the copies; PGLOG names the log file, by default the
# newest under /var/log/postgresql), by database, by phase (parse, bind, execute) and by the
# statement's first words, and prints the TOP (15) largest.
set -euo pipefail
usage="usage: bench/pipeline-ab.sh DEMO_DIR PAIRS BATCHES BATCH_SIZE BIN..."
demo=$(cd "${1:?$usage}" && pwd)
pairs=${2:?$usage}
batches=${3:?$usage}
size=${4:?$usage}
shift 4
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
copy=${TMPDIR:-/tmp}/cutover-ab
# shellcheck source=bench/fresh.sh
. "$(dirname "$0")/fresh.sh"

server_time() {
  python3 - "$1" "${TOP:-15}" <<'PY'
import collections, re, sys
path, top = sys.argv[1], int(sys.argv[2])
head = re.compile(r'\] \S+@(\S+) LOG:  duration: ([\d.]+) ms  (parse|bind|execute|statement)[^:]*: (.*)')
by, per_db = collections.defaultdict(lambda: [0, 0.0]), collections.defaultdict(float)
for line in open(path, errors='replace'):
    m = head.search(line)
    if not m:
        continue
    db, ms, phase, sql = m.group(1), float(m.group(2)), m.group(3), m.group(4)
    key = (db, phase, ' '.join(sql.split()[:4])[:60])
    by[key][0] += 1
    by[key][1] += ms
    per_db[db] += ms
print('  server ms by database:', ', '.join(f'{d} {t:.0f}' for d, t in sorted(per_db.items())))
for (db, phase, sql), (n, ms) in sorted(by.items(), key=lambda kv: -kv[1][1])[:top]:
    print(f'  {ms:8.1f} ms {n:5d}  {db} {phase}: {sql}')
PY
}

for _ in $(seq "$pairs"); do
  for bin in "$@"; do
    fresh "$demo" "$copy"
    [ "${SERVER_TIME:-0}" = 1 ] && for url in "${FRESH_URLS[@]}"; do
      psql "${url%/*}/postgres" -qAt -c "ALTER DATABASE ${url##*/} SET log_min_duration_statement = 0"
    done
    log=${PGLOG:-$(ls -t /var/log/postgresql/*.log 2>/dev/null | head -1)}
    start=0
    [ "${SERVER_TIME:-0}" = 1 ] && start=$(wc -l < "$log")
    out=$("$bin" --config "$copy/cutover.toml" bench pipeline --batches "$batches" --batch-size "$size" 2>&1) ||
      { echo "$out" >&2; exit 1; }
    echo "$(basename "$bin"): $(echo "$out" | grep -o 'ours [0-9]* rows/s ([0-9.]*s)') |" \
      "$(echo "$out" | grep -o 'state [0-9.]*, source [0-9.]*, platform [0-9.]*') |" \
      "$(echo "$out" | grep -o 'peak resident memory [0-9.]* MB')"
    if [ "${SERVER_TIME:-0}" = 1 ]; then
      tail -n +"$((start + 1))" "$log" > "$copy.server.log"
      server_time "$copy.server.log"
    fi
  done
done
