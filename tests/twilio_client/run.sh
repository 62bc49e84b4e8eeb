#!/usr/bin/env bash
# Twilio's official Python helper library against `otpd serve` (issue 14): a virtualenv with
# PyPI `twilio` 9, a server on a temporary database and a free port, then check.py; then
# Twilio's Node.js helper library (npm `twilio`, tests/twilio_node) against the same server.
# Run from the repository root after `cargo build` (`.ci/run` does).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check "twilio>=9,<10"
# No resend cooldown: the Node.js client re-verifies a number the Python one just used.
printf '[hashing]\nmemory_kib = 8\niterations = 1\nparallelism = 1\n[policy]\nresend_cooldown_seconds = 0\n' > "$tmp/otpd.toml"
export OTPD_CONFIG="$tmp/otpd.toml" OTPD_DB="$tmp/otpd.db" OTPD_SECRET_FILE="$tmp/secret.key" \
    OTPD_DELIVERY=outbox OTPD_OUTBOX="$tmp/outbox.jsonl" OTPD_STATION=ci HOME="$tmp"
key=$(target/debug/otpd keys create --station ci --json)
admin=$(target/debug/otpd keys create --station hq --role admin --json)
auditor=$(target/debug/otpd keys create --station audit --role auditor --json)
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "${2:-$key}" "$1"; }
target/debug/otpd serve --listen 127.0.0.1:0 > "$tmp/serve.out" 2> "$tmp/serve.err" &
server=$!
for _ in $(seq 100); do [ -s "$tmp/serve.out" ] && [ "$(wc -l < "$tmp/serve.out")" -ge 2 ] && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$tmp/serve.out")
service=$(sed -n 's/^service //p' "$tmp/serve.out")
"$tmp/venv/bin/python" tests/twilio_client/check.py "$base" "$service" "$(field sid)" "$(field secret)" \
    "$tmp/outbox.jsonl" "$(field sid "$admin")" "$(field secret "$admin")" \
    "$(field sid "$auditor")" "$(field secret "$auditor")" || { cat "$tmp/serve.err" >&2; exit 1; }
# Twilio's official Node.js helper library judges the same wire (issue 26).
tests/twilio_node/run.sh "$base" "$service" "$(field sid)" "$(field secret)" "$tmp/outbox.jsonl" \
    || { cat "$tmp/serve.err" >&2; exit 1; }
# Issue 26, part B: status callbacks signed by twilio-python's RequestValidator, and Verify
# Events at a signed sink (the script starts its own server, fake Twilio and sink).
"$tmp/venv/bin/python" tests/twilio_client/callbacks_check.py target/debug/otpd
