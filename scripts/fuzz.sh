#!/usr/bin/env bash
# Runs every fuzz target of pkg/protocol and pkg/server/engine (the
# WebSocket frame reader/writer), one after another, for FUZZTIME each
# (default 60s). Not part of CI: run it before a release or after touching
# a decoder. A crasher is written to <package>/testdata/fuzz/<Target>/ by
# `go test`; commit it, and plain `go test` replays it.
#   FUZZTIME=5m scripts/fuzz.sh            # all targets
#   scripts/fuzz.sh FuzzParsePacket        # only the named ones
# FUZZPARALLEL sets the worker count (default: go test's, GOMAXPROCS).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-60s}
pkgs=(./pkg/protocol ./pkg/server/engine)
want=("$@")
targets=() # "package target"
for pkg in "${pkgs[@]}"; do
	while read -r t; do
		if [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" $t "* ]]; then
			targets+=("$pkg $t")
		fi
	done < <(go test -list '^Fuzz' "$pkg" | grep '^Fuzz')
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "no fuzz target matches: ${want[*]}" >&2
	exit 2
fi
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

failed=()
for pt in "${targets[@]}"; do
	pkg=${pt% *}
	t=${pt#* }
	echo "--- $pkg $t ($fuzztime)"
	if ! go test -run='^$' -fuzz="^${t}\$" -fuzztime="$fuzztime" "${parallel[@]}" "$pkg"; then
		failed+=("$pkg/testdata/fuzz/$t")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz failures (crashers in): ${failed[*]}"
	exit 1
fi
echo "all ${#targets[@]} fuzz targets passed"
