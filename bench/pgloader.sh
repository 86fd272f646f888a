#!/usr/bin/env bash
# Issue 21, goals 2 and 3: the reference `cutover bench pipeline` is measured against. pgloader
# (Debian's package: `apt-get install pgloader`) loads a demo workspace's whole legacy database
# into a scratch database of the same PostgreSQL server, and prints its own timing table.
#
#   bench/pgloader.sh DEMO_DIR            # the SQLite legacy file
#   bench/pgloader.sh DEMO_DIR mariadb    # the same rows copied into MariaDB first (not timed)
#
# With `mariadb`, the legacy rows are copied into a scratch MariaDB database with typed columns
# (the schema `tests/postgres.rs` uses) and the MariaDB database is left for `cutover`: the
# script prints its URL, to put in the workspace's `[source] url`. Servers: PG_URL (default
# postgres://postgres@127.0.0.1:5432), MARIADB (default root@127.0.0.1:3306).
set -euo pipefail
dir=${1:?usage: bench/pgloader.sh DEMO_DIR [sqlite|mariadb]}
from=${2:-sqlite}
pg=${PG_URL:-postgres://postgres@127.0.0.1:5432}
for tool in pgloader psql sqlite3; do
  command -v "$tool" >/dev/null || { echo "FATAL: $tool is missing" >&2; exit 1; }
done
db=cutover_pgloader_$$
psql "$pg/postgres" -qc "CREATE DATABASE $db"
trap 'psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db"' EXIT

case $from in
sqlite)
  source="sqlite://$(realpath "$dir/legacy.db")"
  ;;
mariadb)
  command -v mariadb >/dev/null || { echo "FATAL: mariadb (client) is missing" >&2; exit 1; }
  mdb=cutover_legacy_$$
  m() { mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u root --local-infile=1 "$@"; }
  m -e "CREATE DATABASE $mdb CHARACTER SET utf8mb4"
  m "$mdb" <<'SQL'
CREATE TABLE clients (client_id INT PRIMARY KEY, full_name VARCHAR(300), email_addr VARCHAR(300),
  phone_no VARCHAR(60), acct_type VARCHAR(10), signup_ts DATETIME, country_code CHAR(2),
  needs_assist TINYINT, preferred_lang VARCHAR(10), loyalty_tier VARCHAR(20),
  migrated_flag TINYINT NOT NULL DEFAULT 0, account_rep VARCHAR(64));
CREATE TABLE devices (device_id INT PRIMARY KEY, client_id INT, device_type VARCHAR(40),
  make VARCHAR(60), model_name VARCHAR(80), serial_no VARCHAR(80), warranty_end DATE, KEY (client_id));
CREATE TABLE repair_tickets (ticket_id INT PRIMARY KEY, client_id INT, device_id INT, opened DATETIME,
  closed DATETIME, state VARCHAR(20), notes TEXT, cost_cents INT, technician VARCHAR(80), KEY (client_id));
CREATE TABLE payments (payment_id INT PRIMARY KEY, client_id INT, amount_cents BIGINT,
  currency CHAR(3), paid_on DATETIME, method VARCHAR(20), status VARCHAR(20), invoice_ref VARCHAR(40),
  KEY (client_id));
CREATE TABLE messages (msg_id INT PRIMARY KEY, client_id INT, sent_at DATETIME, channel VARCHAR(20),
  dir VARCHAR(10), subject VARCHAR(300), body TEXT, csat INT, KEY (client_id));
SQL
  csv=$(mktemp)
  for t in clients devices repair_tickets payments messages; do
    sqlite3 -csv -nullvalue '\N' "$dir/legacy.db" "SELECT * FROM $t" > "$csv"
    m "$mdb" -e "LOAD DATA LOCAL INFILE '$csv' INTO TABLE $t CHARACTER SET utf8mb4
      FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n'"
  done
  rm -f "$csv"
  source="mysql://root@127.0.0.1:3306/$mdb"
  echo "MariaDB legacy: mysql://root@127.0.0.1:3306/$mdb (drop it with: DROP DATABASE $mdb)"
  ;;
*)
  echo "FATAL: the source is sqlite or mariadb, not $from" >&2
  exit 2
  ;;
esac

load=$(mktemp)
cat > "$load" <<COMMANDS
LOAD DATABASE
  FROM $source
  INTO $pg/$db
WITH include drop, create tables, create indexes, reset sequences;
COMMANDS
start=$(date +%s.%N)
pgloader --quiet "$load"
end=$(date +%s.%N)
rm -f "$load"
rows=$(psql "$pg/$db" -Atc "SELECT SUM(n) FROM (
  SELECT COUNT(*) AS n FROM clients UNION ALL SELECT COUNT(*) FROM devices UNION ALL
  SELECT COUNT(*) FROM repair_tickets UNION ALL SELECT COUNT(*) FROM payments UNION ALL
  SELECT COUNT(*) FROM messages) t" 2>/dev/null || psql "$pg/$db" -Atc "SELECT SUM(n_live_tup) FROM pg_stat_user_tables")
secs=$(echo "$end - $start" | bc)
echo "pgloader from $from: $rows rows in ${secs}s wall: $(echo "$rows / $secs" | bc) rows/s"
