#!/usr/bin/env bash
# Start-up of commands that touch a phone number, side by side with `otpd --version` (issue 15,
# "Start-up"): hyperfine medians for BENCHMARKS.md.
#
#   scripts/bench-startup.sh [BINARY [BINARY…]]   default target/release/otpd (build it first:
#                                                 cargo build --release)
#
# With several binaries (e.g. main's release build and a branch's), one hyperfine run measures
# them side by side, each command of each binary next to the others (so load from elsewhere on
# a shared machine falls on all of them alike), over one installation; each binary's figures
# are its medians and their difference from its own `--version`.
#
# Needs hyperfine (Debian: apt-get install hyperfine) and jq. Environment: OTPD_BENCH_RUNS (runs
# per command, default 200), OTPD_BENCH_DIR (where the temp installation lives, default
# /dev/shm so fsync latency stays out of a start-up figure).
set -euo pipefail
cd "$(dirname "$0")/.."
bins=()
for b in "${@:-target/release/otpd}"; do bins+=("$(realpath "$b")"); done
bin=${bins[0]}
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
echo "binaries: ${bins[*]}; $runs runs per command; installation in $dir"
commands=(
  'otpd --version|--version'
  'otpd status (nothing pending here)|status'
  'otpd status (one pending: stored +44)|--station desk-2 status'
  'otpd limits +1 415 555 2671|limits +14155552671'
  'otpd limits +44 7911 123456|limits +447911123456'
  'otpd send +1 415 555 2671 (outbox)|send +14155552671'
)
args=()
for c in "${commands[@]}"; do
  for i in "${!bins[@]}"; do
    args+=(-n "[$i] ${c%%|*}" "${bins[$i]} ${c#*|}")
  done
done
hyperfine -N --warmup 20 --runs "$runs" --export-json "$dir/startup.json" "${args[@]}" >&2
for i in "${!bins[@]}"; do
  echo "[$i] ${bins[$i]}"
  jq -r --arg p "[$i] " '[.results[] | select(.command | startswith($p))] |
    .[0].median as $v | .[] |
    "\(.command | ltrimstr($p))\t\(.median * 1000 | . * 100 | round / 100) ms\t+\((.median - $v) * 1000 | . * 100 | round / 100) ms"' \
    "$dir/startup.json" | column -t -s $'\t'
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
