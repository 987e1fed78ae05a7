#!/bin/bash
# A small stand-in for the official postgres image's entrypoint: the same
# variables (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA), the same
# data directory, initialised on first start only; then runs "$@" as postgres.
set -euo pipefail
if [ "${1:-}" = postgres ]; then
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  install -d -o postgres -g postgres -m 0755 /run/postgresql
  as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp); chown postgres "$pwfile"
    printf '%s' "${POSTGRES_PASSWORD:?}" >"$pwfile"
    "${as_postgres[@]}" initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    printf "listen_addresses = '*'\njit = off\n" >>"$PGDATA/postgresql.conf"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
    if [ "$db" != postgres ]; then
      echo "CREATE DATABASE \"$db\" OWNER \"${POSTGRES_USER:-postgres}\";" |
        "${as_postgres[@]}" postgres --single -D "$PGDATA" postgres >/dev/null
    fi
  fi
  exec "${as_postgres[@]}" "$@"
fi
exec "$@"
