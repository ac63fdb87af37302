#!/usr/bin/env bash
# A private PostgreSQL for the tests: a throwaway cluster in a fresh temporary directory,
# listening on 127.0.0.1 only (a free port) with its socket in that directory. No system
# service is used or needed; nothing is installed here (scripts/setup.sh --test does that).
#
#   eval "$(scripts/pg.sh start)"        starts one and prints the two exports below
#   scripts/pg.sh stop "$GDL_TEST_PG_DIR"  stops it and removes its directory
#
# `start` prints, for eval:
#   export GDL_TEST_DATABASE_URL=postgres://gdl_test:PASSWORD@127.0.0.1:PORT/gdl_test
#   export GDL_TEST_PG_DIR=/tmp/gdl-pg.XXXXXX
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
# (made by Debian's package) and initdb/pg_ctl run as that user; as anyone else, as them.
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'pg.sh: %s\n' "$*" >&2; exit 1; }

# The newest installed server's binaries (Debian keeps them off PATH, one folder a version).
pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x "$dir/initdb" ]] || die "no PostgreSQL server under /usr/lib/postgresql (scripts/setup.sh --test installs it)"
  printf '%s\n' "$dir"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A port nothing answers on now; the start below tries another if it is taken meanwhile.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  printf '%s\n' "$port"
}

start() {
  local port password
  # `bin` and `dir` are global: the EXIT trap below reads them after start has returned.
  bin=$(pg_bin)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/gdl-pg.XXXXXX")
  # A start that fails leaves nothing behind: no server, no directory.
  started=false
  trap 'if ! $started; then
          as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
          rm -rf "$dir"
        fi' EXIT
  # The marker lets `stop` refuse to delete a directory this script did not make.
  touch "$dir/gdl-pg"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "no postgres user (Debian's postgresql package makes it)"
    chown postgres: "$dir"
  fi
  password=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

  say "initdb in $dir/data ($("$bin/postgres" --version))"
  # Local socket connections trust the owner (to create the role); TCP needs the password.
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }

  # A port found free can be taken before the server binds it: try a few.
  local tries=0
  while :; do
    port=$(free_port)
    # A throwaway cluster: durability is not wanted, speed is.
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    ((tries < 5)) || { cat "$dir/server.log" >&2; die "the server did not start"; }
  done

  as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE gdl_test LOGIN PASSWORD '$password'" \
    -c "CREATE DATABASE gdl_test OWNER gdl_test" >&2
  started=true
  say "PostgreSQL on 127.0.0.1:$port (stop: scripts/pg.sh stop $dir)"
  printf 'export GDL_TEST_DATABASE_URL=postgres://gdl_test:%s@127.0.0.1:%s/gdl_test\n' "$password" "$port"
  printf 'export GDL_TEST_PG_DIR=%s\n' "$dir"
}

stop() {
  local dir=${1:-}
  [[ -n "$dir" ]] || die "usage: scripts/pg.sh stop DIR"
  [[ -f "$dir/gdl-pg" ]] || die "$dir was not made by scripts/pg.sh start"
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
  rm -rf "$dir"
  say "stopped and removed $dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) die "usage: scripts/pg.sh start | scripts/pg.sh stop DIR" ;;
esac
