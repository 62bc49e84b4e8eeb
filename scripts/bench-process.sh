#!/usr/bin/env bash
# Benchmark figures for BENCHMARKS.md, with the machine they ran on.
#
#   scripts/bench-process.sh            whole-process figures (release binary; 30 runs each)
#   scripts/bench-process.sh --verify   also the in-process criterion bench, then the ratios
#   scripts/bench-process.sh --ratios   only print the ratios of the last criterion run
#   scripts/bench-process.sh --all      whole-process, criterion and the 1,000,000-event audit
#
# Environment: OTPD_BENCH_RUNS (runs per figure, default 30), OTPD_BENCH_DIR (where the temp
# database lives; /dev/shm removes the disk's fsync latency from the figures).
set -euo pipefail
cd "$(dirname "$0")/.."

machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "database dir: ${OTPD_BENCH_DIR:-${TMPDIR:-/tmp}} ($(df -T "${OTPD_BENCH_DIR:-${TMPDIR:-/tmp}}" | awk 'NR==2 {print $2}'))"
}

ratios() {
  local dir=target/criterion/verify
  median() { jq '.median.point_estimate / 1e6' "$dir/$1/new/estimates.json"; }
  local bare
  bare=$(median bare_argon2id)
  printf '%-26s %9s %7s\n' bench 'median ms' ratio
  for b in bare_argon2id service_right_code service_wrong_code service_expired_code service_unknown_number; do
    local m
    m=$(median "$b")
    printf '%-26s %9.2f %7.3f\n' "$b" "$m" "$(echo "$m / $bare" | bc -l)"
  done
}

case "${1:-}" in
  --ratios) ratios; exit 0 ;;
esac

machine
OTPD_BENCH_RUNS="${OTPD_BENCH_RUNS:-30}" cargo bench --bench process
if [ "${1:-}" = "--verify" ] || [ "${1:-}" = "--all" ]; then
  cargo bench --bench verify
  ratios
fi
if [ "${1:-}" = "--all" ]; then
  cargo bench --bench audit
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
