#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the Node peers of the
# interop suite and the packages the tests drive (scripts/ci-deps.sh),
# checks formatting, vets, lints (staticcheck, govulncheck), builds every
# release target, and runs every Go test with the race detector, all with
# the Go of scripts/goenv.sh. Needs Go and Node.js/npm; as root it
# installs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh

./scripts/ci-deps.sh

echo "--- gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './test/interop/node_modules/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

echo "--- go vet"
go vet ./...

./scripts/lint.sh

echo "--- go build (every release target)"
./scripts/build-targets.sh

echo "--- go test -race"
go test -race -count=1 -timeout 12m ./...

# The servers write broadcasts with io_uring where the kernel allows it
# (eioserver.Options.IOUring): the suites above ran so; once more with the
# io_uring code left out, so that the write(2) path is tested as well.
echo "--- go test -race -tags sio_nouring (server, without io_uring)"
go test -race -count=1 -tags sio_nouring ./pkg/server/...
