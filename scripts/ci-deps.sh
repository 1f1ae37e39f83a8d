#!/usr/bin/env bash
# Installs what the test suite needs beyond Go and Node.js when it is
# missing: the Node peers of test/interop (npm ci) and the Debian packages
# the tests drive. Run by scripts/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- npm ci (test/interop)"
(cd test/interop && npm ci --no-audit --no-fund --loglevel=error)

# test/browser drives Debian's headless Chromium. As root it is installed
# when missing; otherwise say how, and fail under CI, where the test would
# fail anyway (it skips only outside CI).
echo "--- chromium (test/browser)"
if command -v chromium >/dev/null 2>&1; then
	chromium --version 2>/dev/null | tail -n 1 || true
elif [ "$(id -u)" = 0 ]; then
	apt-get update && apt-get install -y --no-install-recommends chromium
else
	echo "chromium is missing: as root, run apt-get update && apt-get install -y --no-install-recommends chromium"
	if [ "${CI:-}" = true ]; then
		exit 1
	fi
fi
