#!/usr/bin/env bash
# Builds cmd/sio for every release target of .goreleaser.yaml, so that a
# platform-specific file that does not compile elsewhere fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh

for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
	echo "    $target"
	CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./cmd/sio
done
