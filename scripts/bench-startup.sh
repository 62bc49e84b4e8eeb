#!/usr/bin/env bash
# Start-up of commands that touch a phone number, side by side with `otpd --version` (issue 15,
# "Start-up"): hyperfine medians for BENCHMARKS.md.
#
#   scripts/bench-startup.sh [BINARY]     default target/release/otpd (build it first:
#                                         cargo build --release)
#
# Needs hyperfine (Debian: apt-get install hyperfine) and jq. Environment: OTPD_BENCH_RUNS (runs
# per command, default 200), OTPD_BENCH_DIR (where the temp installation lives, default
# /dev/shm so fsync latency stays out of a start-up figure).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/otpd}")
runs=${OTPD_BENCH_RUNS:-200}
dir=$(mktemp -d "${OTPD_BENCH_DIR:-/dev/shm}/otpd-startup.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# Cheap argon2 so `send` measures start-up and plan, not the hash; no abuse limit refuses a
# repeated send.
cat >"$dir/otpd.toml" <<'EOF'
[hashing]
memory_kib = 8
iterations = 1
[policy]
resend_cooldown_seconds = 0
max_attempts = 100
[limits]
max_cooldown_seconds = 0
per_number_per_hour = 0
per_number_per_day = 0
per_prefix_per_hour = 0
per_station_per_hour = 0
global_per_hour = 0
min_conversion = 0.0
EOF
export HOME="$dir" OTPD_CONFIG="$dir/otpd.toml" OTPD_DB="$dir/otpd.db" OTPD_STATION=desk-1 \
  OTPD_SECRET=startup-bench-secret-0123456789abcdef OTPD_DELIVERY=outbox \
  OTPD_OUTBOX="$dir/outbox.jsonl" NO_COLOR=1

"$bin" status >/dev/null                       # creates the database: nothing pending
"$bin" --station desk-2 send +44 7911 123456 >/dev/null  # one pending at another station

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin; $runs runs per command; installation in $dir"
hyperfine -N --warmup 20 --runs "$runs" --export-json "$dir/startup.json" \
  -n 'otpd --version' "$bin --version" \
  -n 'otpd status (nothing pending here)' "$bin status" \
  -n 'otpd status (one pending: stored +44)' "$bin --station desk-2 status" \
  -n 'otpd limits +1 415 555 2671' "$bin limits +14155552671" \
  -n 'otpd limits +44 7911 123456' "$bin limits +447911123456" \
  -n 'otpd send +1 415 555 2671 (outbox)' "$bin send +14155552671" >&2
jq -r '.results[0].median as $v | .results[] |
  "\(.command)\t\(.median * 1000 | . * 100 | round / 100) ms\t+\((.median - $v) * 1000 | . * 100 | round / 100) ms"' \
  "$dir/startup.json" | column -t -s $'\t'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
