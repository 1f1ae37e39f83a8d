#!/usr/bin/env bash
# Installs what the test suite needs beyond Go and Node.js when it is
# missing: the Node peers of test/interop (npm ci) and the Debian packages
# the tests drive. Run by scripts/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- npm ci (test/interop)"
(cd test/interop && npm ci --no-audit --no-fund --loglevel=error)

# need_deb COMMAND PACKAGE WHO: the tests in WHO drive Debian's PACKAGE.
# As root it is installed when missing; otherwise say how, and fail under
# CI, where those tests would fail anyway (they skip only outside CI).
need_deb() {
	echo "--- $2 ($3)"
	if command -v "$1" >/dev/null 2>&1; then
		"$1" --version 2>/dev/null | tail -n 1 || true
	elif [ "$(id -u)" = 0 ]; then
		if [ -z "${apt_updated:-}" ]; then
			apt-get update
			apt_updated=1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2"
	else
		echo "$2 is missing: as root, run apt-get update && apt-get install -y --no-install-recommends $2"
		if [ "${CI:-}" = true ]; then
			exit 1
		fi
	fi
}

need_deb chromium chromium test/browser
# The cluster tests start their own redis-server on a free loopback port;
# a redis-server service the package may start is not used.
need_deb redis-server redis-server "test/interop/cluster, pkg/server/redisadapter"
