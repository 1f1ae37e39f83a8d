#!/usr/bin/env bash
# Installs what the test suite needs beyond Go and Node.js when it is
# missing: the Node peers of test/interop (npm ci) and the Debian packages
# the tests drive. Run by scripts/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- npm ci (test/interop)"
(cd test/interop && npm ci --no-audit --no-fund --loglevel=error)
