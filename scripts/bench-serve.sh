#!/usr/bin/env bash
# `otpd serve` under load for BENCHMARKS.md (issue 14), with the machine it ran on: checks per
# second with 2, 8 and 64 clients against cores ÷ hash time, latency at 2x saturation, and the
# 20429 share, peak RSS and lost accepted checks at 10x overload. Only 127.0.0.1.
#
# Environment: OTPD_BENCH_CHECKS (checks per client count, default 384), OTPD_BENCH_SECS
# (length of each open-loop run, default 5), OTPD_BENCH_DIR (where the temp database lives),
# OTPD_BENCH_BIN (another otpd binary to serve, to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench --bench serve
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
