#!/usr/bin/env bash
# Twilio's official Node.js helper library against a running `otpd serve` (issue 26): installs
# the locked npm `twilio` (package-lock.json) with `npm ci`, then runs check.js. Called by
# tests/twilio_client/run.sh with the server's URL, service SID, a station key and the outbox.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --silent --no-audit --no-fund >/dev/null
node check.js "$@"
