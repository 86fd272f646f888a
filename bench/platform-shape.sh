#!/usr/bin/env bash
# Issue 21, goal 2: what the managed platform's schema itself costs a loader, on PostgreSQL.
#
#   bench/platform-shape.sh PLATFORM_URL
#
# PLATFORM_URL is a platform database holding migrated rows (the fresh copy `bench/pipeline-ab.sh`
# left, or any demo's platform after `cutover run`). Every platform row is copied table to table
# three times, in one transaction that is rolled back, so the database is left as it was:
#   bare      columns and defaults only: what pgloader loads into (it builds indexes after the
#             load, and the legacy file declares no foreign keys)
#   indexed   the platform's primary keys and indexes too (`LIKE … INCLUDING ALL`)
#   platform  its foreign keys as well: the managed schema as cutover writes it, batch by batch,
#             into a platform in use
# Prints the rows and each copy's milliseconds and rows/s.
set -euo pipefail
url=${1:?usage: bench/platform-shape.sh PLATFORM_URL}
command -v psql >/dev/null || { echo "FATAL: psql is missing" >&2; exit 1; }
tables="customers devices repairs payments communications"
rows=$(psql "$url" -qAt -c "SELECT $(for t in $tables; do printf '(SELECT COUNT(*) FROM %s) + ' "$t"; done) 0")
{
  echo '\timing on'
  echo 'BEGIN;'
  for s in bare indexed platform; do
    echo "CREATE SCHEMA shape_$s;"
  done
  for t in $tables; do
    echo "CREATE TABLE shape_bare.$t (LIKE $t INCLUDING DEFAULTS);"
    echo "CREATE TABLE shape_indexed.$t (LIKE $t INCLUDING ALL);"
  done
  cat <<'SQL'
CREATE TABLE shape_platform.customers (LIKE customers INCLUDING ALL);
CREATE TABLE shape_platform.devices (LIKE devices INCLUDING ALL,
  FOREIGN KEY (customer_id) REFERENCES shape_platform.customers (id));
CREATE TABLE shape_platform.repairs (LIKE repairs INCLUDING ALL,
  FOREIGN KEY (customer_id) REFERENCES shape_platform.customers (id),
  FOREIGN KEY (device_id) REFERENCES shape_platform.devices (id));
CREATE TABLE shape_platform.payments (LIKE payments INCLUDING ALL,
  FOREIGN KEY (customer_id) REFERENCES shape_platform.customers (id));
CREATE TABLE shape_platform.communications (LIKE communications INCLUDING ALL,
  FOREIGN KEY (customer_id) REFERENCES shape_platform.customers (id));
SQL
  for s in bare indexed platform; do
    echo "\\echo copy $s"
    for t in $tables; do
      echo "INSERT INTO shape_$s.$t SELECT * FROM $t;"
    done
  done
  echo '\echo copy end'
  echo 'ROLLBACK;'
} | psql "$url" -q -v ON_ERROR_STOP=1 -f - | awk -v rows="$rows" '
  /^copy / { if (shape != "") printf "%-9s %d rows %8.1f ms %9.0f rows/s\n", shape, rows, ms, rows / ms * 1000
             shape = $2; ms = 0; if (shape == "end") exit; next }
  shape != "" && /^Time:/ { ms += $2 }'
