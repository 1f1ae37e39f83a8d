#!/usr/bin/env bash
# The soak run of BENCHMARKS.md ("Soak"): builds sio, then holds
# `sio serve --quiet` under 2,000 churning clients (half polling→WebSocket)
# with acked emits for 10 minutes, sampling RSS, open files, goroutines and
# heap every 30 s. Fails on a lost or wrong ack or a server-side drop.
# Not part of CI. Flags go to bench/soak (go run ./bench/soak -h):
#
#   scripts/soak.sh                               # the documented run
#   scripts/soak.sh -clients 500 -duration 2m     # a quick one
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${SIO_BENCH_OUT:-$root/bench/.out}
mkdir -p "$out"
go build -o "$out/sio" ./cmd/sio
go build -o "$out/soak" ./bench/soak
# 2,000 clients hold up to 4,000 descriptors in this process (a polling
# GET and POST each, before the upgrade).
ulimit -n 20000 2>/dev/null || true
exec "$out/soak" -sio "$out/sio" "$@"
