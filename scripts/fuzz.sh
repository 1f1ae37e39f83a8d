#!/usr/bin/env bash
# Runs every fuzz target of pkg/protocol, one after another, for FUZZTIME
# each (default 60s). Not part of CI: run it before a release or after
# touching a decoder. A crasher is written to pkg/protocol/testdata/fuzz/
# <Target>/ by `go test`; commit it, and plain `go test` replays it.
#   FUZZTIME=5m scripts/fuzz.sh            # all targets
#   scripts/fuzz.sh FuzzParsePacket        # only the named ones
# FUZZPARALLEL sets the worker count (default: go test's, GOMAXPROCS).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-60s}
pkg=./pkg/protocol
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	mapfile -t targets < <(go test -list '^Fuzz' "$pkg" | grep '^Fuzz')
fi
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

failed=()
for t in "${targets[@]}"; do
	echo "--- $t ($fuzztime)"
	if ! go test -run='^$' -fuzz="^${t}\$" -fuzztime="$fuzztime" "${parallel[@]}" "$pkg"; then
		failed+=("$t")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz failures: ${failed[*]} (crashers in $pkg/testdata/fuzz/)"
	exit 1
fi
echo "all ${#targets[@]} fuzz targets passed"
