#!/usr/bin/env bash
# pgcluster.sh - a throwaway PostgreSQL cluster for tests and benchmarks.
#   pgcluster.sh start DIR PORT   initdb in DIR (if new), start on PORT with
#                                 its socket in DIR; prints the libpq URL
#   pgcluster.sh stop DIR         fast shutdown
#   pgcluster.sh crash DIR        pg_ctl restart -m immediate: every backend
#                                 killed, crash recovery on the way up
#   pgcluster.sh down DIR         pg_ctl stop -m immediate: the server gone
#                                 (until "up")
#   pgcluster.sh up DIR           start it again
#   pgcluster.sh replica PDIR PPORT DIR PORT
#                                 a streaming replica of the cluster in PDIR
#                                 (pg_basebackup -R), started on PORT; prints
#                                 its libpq URL
# As root the server runs as the "postgres" user (initdb refuses root).
# With RK_PG_LISTEN=ADDR (a new cluster) it also listens on ADDR over TCP
# and trusts clients on the same subnets ("samenet").
set -euo pipefail
cmd=$1 dir=$2
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$bindir/initdb" ] || { echo "pgcluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
  port=$3
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" && chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
max_wal_size = 4GB
CONF
    if [ -n "${RK_PG_LISTEN:-}" ]; then
      echo "listen_addresses = '$RK_PG_LISTEN'" >>"$dir/data/postgresql.conf"
      echo "host all all samenet trust" >>"$dir/data/pg_hba.conf"
      echo "host replication all samenet trust" >>"$dir/data/pg_hba.conf"
    fi
  fi
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  as_pg "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAtc \
    "SELECT 1 FROM pg_database WHERE datname = 'rekindle'" | grep -q 1 \
    || as_pg "$bindir/createdb" -h "$dir" -p "$port" -U postgres rekindle
  echo "host=$dir port=$port user=postgres dbname=rekindle"
  ;;
crash)
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m immediate -w -t 60 \
    restart >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  ;;
down)
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  ;;
up)
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  ;;
replica)
  pdir=$2 pport=$3 dir=$4 port=$5
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" && chmod 700 "$dir"
  as_pg "$bindir/pg_basebackup" -h "$pdir" -p "$pport" -U postgres -D "$dir/data" \
    -R -X stream -c fast >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
hot_standby = on
CONF
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "host=$dir port=$port user=postgres dbname=rekindle"
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  ;;
*) echo "usage: pgcluster.sh start DIR PORT | stop DIR | crash DIR | down DIR | up DIR | replica PDIR PPORT DIR PORT" >&2; exit 2 ;;
esac
