#!/usr/bin/env bash
# A throwaway PostgreSQL for the scale tests (contract: scripts/with-services.sh).
#   postgres.sh start DIR   initdb + start on 127.0.0.1, prints `export WHARF_TEST_PG_URL=postgres://...`
#   postgres.sh stop DIR    stops it and removes its data
# The port is WHARF_PG_PORT when set, else a free one. fsync is off: the data is thrown away after the run.
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

bindir=
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && bindir=$d; done
[ -n "$bindir" ] || bindir=$(dirname "$(command -v pg_ctl || true)")
if [ ! -x "$bindir/pg_ctl" ]; then
  echo "postgres.sh: pg_ctl not found (apt-get install postgresql, or scripts/install-test-deps.sh)" >&2
  exit 1
fi

# initdb refuses to run as root: the cluster belongs to the postgres user, in a directory of its own (DIR's parent
# may be private to root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    data=$(mktemp -d /tmp/wharf-pg.XXXXXX)
    echo "$data" >"$dir/data-dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
    port=${WHARF_PG_PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
    as_owner "$bindir/initdb" -D "$data/db" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bindir/pg_ctl" -D "$data/db" -w -t 60 -l "$data/server.log" \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >&2 || { cat "$data/server.log" >&2; exit 1; }
    echo "export WHARF_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -f "$dir/data-dir" ] || exit 0
    data=$(cat "$dir/data-dir")
    as_owner "$bindir/pg_ctl" -D "$data/db" -m immediate -w stop >&2 || true
    rm -rf "$data" "$dir/data-dir"
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
