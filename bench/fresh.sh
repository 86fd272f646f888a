# shellcheck shell=bash
# Sourced by the bench scripts: `fresh DEMO_DIR COPY_DIR` makes COPY_DIR a fresh copy of the
# demo workspace DEMO_DIR (what `cutover demo --dir` wrote), its config pointing at the copy.
# Each PostgreSQL database the config names (`--state-url`, `--target-url`) is copied too, by
# `CREATE DATABASE <name>_ab TEMPLATE <name>`; FRESH_URLS holds the copies' URLs afterwards.
# `fresh_url COPY_DIR SECTION` prints the `url` of a section (`state`, `target`) of the copy.
fresh() {
  local demo=$1 copy=$2 url server name
  rm -rf "$copy"
  cp -r "$demo" "$copy"
  sed -i "s#$demo#$copy#g" "$copy/cutover.toml"
  FRESH_URLS=()
  for url in $(grep -o 'postgres://[^"]*' "$demo/cutover.toml" | sort -u); do
    server=${url%/*} name=${url##*/}
    # The server's notice that there was no copy to drop is noise; a failure is not.
    PGOPTIONS='-c client_min_messages=warning' psql "$server/postgres" -qAt \
      -c "DROP DATABASE IF EXISTS ${name}_ab WITH (FORCE)" -c "CREATE DATABASE ${name}_ab TEMPLATE $name"
    sed -i "s#$url\"#${url}_ab\"#g" "$copy/cutover.toml"
    FRESH_URLS+=("${url}_ab")
  done
}

fresh_url() {
  awk -v want="[$2]" '$0 == want { on = 1; next } /^\[/ { on = 0 } on && /^url *=/ { print; exit }' \
    "$1/cutover.toml" | cut -d'"' -f2
}
