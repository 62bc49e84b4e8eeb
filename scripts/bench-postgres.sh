#!/usr/bin/env bash
# PostgreSQL against SQLite for BENCHMARKS.md (issue 13), in one run: starts a throwaway
# PostgreSQL cluster (initdb + pg_ctl in a temp dir, as user postgres when run as root, fsync
# on as in production, listening on a Unix socket and on 127.0.0.1), creates three databases
# and runs `cargo bench --bench postgres` against them (or the bench named as the first
# argument, e.g. `pg_client`), then stops the cluster.
#
# Environment: OTPD_BENCH_RUNS (default 30), OTPD_BENCH_ROWS (audit log size, default 1000000),
# OTPD_BENCH_PG_PORT (default 54329).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(dirname "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
port=${OTPD_BENCH_PG_PORT:-54329}
root=$(mktemp -d /tmp/otpd-bench-pg.XXXXXX)
chmod 755 "$root"
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$root"
  as=(runuser -u postgres --)
fi
stop() { "${as[@]}" "$bin/pg_ctl" -D "$root/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$root"; }
trap stop EXIT
"${as[@]}" "$bin/initdb" -A trust -U postgres -E UTF8 -D "$root/data" >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$root/data" -w -l "$root/server.log" \
  -o "-k $root -p $port -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
for db in otpd_sock otpd_tcp otpd_audit; do
  psql -q -h "$root" -p "$port" -U postgres -d postgres -c "CREATE DATABASE $db"
done
socket=$(printf '%s' "$root" | sed 's|/|%2F|g')
version=$("$bin/postgres" --version)
echo "$version at $root (port $port), fsync on"
OTPD_BENCH_PG_SOCKET="postgres://postgres@$socket:$port/otpd_sock" \
OTPD_BENCH_PG_TCP="postgres://postgres@127.0.0.1:$port/otpd_tcp?sslmode=disable" \
OTPD_BENCH_PG_AUDIT="postgres://postgres@$socket:$port/otpd_audit" \
  cargo bench --bench "${1:-postgres}"
