#!/usr/bin/env bash
# Installs (if missing) and starts Debian's PostgreSQL, and makes the role the tests use: tc_test, which may
# create databases (each test makes its own). Databases left by an earlier run are dropped. Idempotent.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "==> Installing PostgreSQL (Debian)"
  [ "$(id -u)" = 0 ] || { echo "error: run as root, or: sudo apt-get install -y postgresql" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -qAtc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 1
done

su postgres -c "psql -v ON_ERROR_STOP=1 -qAt" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_test') THEN
    CREATE ROLE tc_test LOGIN CREATEDB PASSWORD 'tc_test';
  END IF;
END $$;
SQL
for db in $(su postgres -c "psql -qAtc \"SELECT datname FROM pg_database WHERE datname LIKE 'tc\\_test\\_%'\""); do
  su postgres -c "dropdb --if-exists '$db'" || true
done
echo "PostgreSQL $version is running; tests connect as tc_test."
