#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the Node peers of the
# interop suite, checks formatting, vets, and runs every Go test with the
# race detector. Needs Go and Node.js/npm; nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- npm ci (test/interop)"
(cd test/interop && npm ci --no-audit --no-fund --loglevel=error)

echo "--- gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './test/interop/node_modules/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

echo "--- go vet"
go vet ./...

echo "--- go test -race"
go test -race -count=1 -timeout 12m ./...
