#!/usr/bin/env bash
# A throwaway PostgreSQL server for Osusume's tests, listening only on 127.0.0.1.
#   scripts/postgres.sh start DIR  creates a cluster in DIR and starts it (as root it first installs
#                                  Debian's postgresql when missing); prints its URL, also written to DIR/url.
#                                  If DIR already holds a running cluster, prints that one's URL.
#   scripts/postgres.sh stop DIR   stops the cluster and removes DIR.
# The URL is postgres://osusume:osusume@127.0.0.1:PORT/osusume_test (password auth, SCRAM).
# Progress and errors go to stderr; stdout carries only the URL.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
marker=.osusume-postgres   # marks a DIR this script made, so stop never removes anything else

# PostgreSQL refuses to run as root, so root runs it as the postgres OS user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# The newest server under /usr/lib/postgresql (Debian), else the one on PATH.
find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/psql" ]; then echo "$d"; return; fi
  done
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v psql >/dev/null; then
    dirname "$(command -v initdb)"; return
  fi
  return 1
}

install_postgres() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: PostgreSQL (initdb, pg_ctl) not found. Install it with: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
  echo "installing postgresql …" >&2
  local log
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  # The package's own cluster (15/main or so) may fail to start without an init system; that is
  # harmless here, so apt-get's status is not trusted: the check below is whether the binaries arrived.
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } >"$log" 2>&1 || true
  if ! find_bin >/dev/null; then
    tail -n 20 "$log" >&2
    echo "error: installing postgresql failed" >&2
    exit 1
  fi
  rm -f "$log"
}

# The port of a running cluster in $dir, from its postmaster.pid (4th line).
port_of() { sed -n 4p "$dir/data/postmaster.pid"; }
url_of() { echo "postgres://osusume:osusume@127.0.0.1:$1/osusume_test"; }

start() {
  local bin port out=""
  bin=$(find_bin) || { install_postgres; bin=$(find_bin); }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/data/PG_VERSION" ]; then
    if ! as_pg "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
      echo "starting the existing cluster in $dir …" >&2
      as_pg "$bin/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" >/dev/null
    fi
    url_of "$(port_of)" | tee "$dir/url"
    return
  fi
  if [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/$marker" ]; then
    echo "error: $dir is not empty; give an empty or new directory" >&2
    exit 1
  fi
  touch "$dir/$marker"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "error: the postgres user cannot reach $dir; use a directory under /tmp" >&2
      exit 1
    fi
  fi
  echo "creating a PostgreSQL cluster in $dir …" >&2
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  cat >>"$dir/data/postgresql.conf" <<EOF

# Test cluster: loopback only, socket inside its directory.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
password_encryption = 'scram-sha-256'
port = 0
EOF
  # Take the first free port from 55432 up; a port taken meanwhile makes the start fail, so try the next.
  for port in $(seq 55432 55531); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    sed -i "s/^port = .*/port = $port/" "$dir/data/postgresql.conf"
    rm -f "$dir/server.log"
    if out=$(as_pg "$bin/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" 2>&1); then
      as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -qX -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE osusume LOGIN CREATEDB PASSWORD 'osusume'" \
        -c "CREATE DATABASE osusume_test OWNER osusume" >/dev/null
      echo "PostgreSQL is up on 127.0.0.1:$port" >&2
      url_of "$port" | tee "$dir/url"
      return
    fi
    if ! grep -qs 'could not bind\|could not create any TCP/IP sockets' "$dir/server.log"; then break; fi
  done
  echo "$out" >&2
  [ ! -f "$dir/server.log" ] || tail -n 20 "$dir/server.log" >&2
  echo "error: PostgreSQL did not start" >&2
  exit 1
}

stop() {
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  if [ -z "$(ls -A "$dir")" ]; then rmdir "$dir"; return; fi   # start failed before making anything
  if [ ! -e "$dir/$marker" ]; then
    echo "error: $dir was not made by $0 start; not removing it" >&2
    exit 1
  fi
  local bin
  if [ -f "$dir/data/postmaster.pid" ] && bin=$(find_bin) &&
     as_pg "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" stop -w -t 60 -m fast -D "$dir/data" >/dev/null
  fi
  rm -rf "$dir"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
