#!/usr/bin/env bash
# Compare `sio serve` with the Node socket.io 4.8.4 reference server on this
# machine (PERF.md method): builds sio, installs the Node server's packages,
# then runs bench/compare (each server pinned to CPU 0, `sio bench` to CPU 1,
# peers interleaved, medians and ratios). Servers (-servers, node first):
# Node, `sio serve` (its per-packet log goes to /dev/null), `sio serve -o
# json` (the log as JSON lines into a file in a temp dir), `sio serve
# --quiet` (session lines only) and bench/goserver (pkg/server with the same
# handlers and no log). Not part of CI.
#
#   bench/compare.sh                         # echo, ack, fanout, idle5k, idle19k; 3 reps of 5 s
#   bench/compare.sh -reps 5 -duration 10s -scenarios echo,ack
#   bench/compare.sh -scenarios polling,upgrade,fanout1,p99
#       # polling: ack from 1,000 long-polling clients; upgrade: 1,000 WebSocket
#       # clients ack while 10,000 others upgrade from polling; fanout1: fanout
#       # with one broadcast in flight; p99: ack -c 50 paced at half of Node's
#       # saturation (measured first, in the same run)
#   bench/compare.sh -servers node,sioq,sioj ...   # only these servers
#   bench/compare.sh -scale 50000            # hold 50,000 connections (several sio serve processes)
#   bench/compare.sh -v ...                  # print every run (sioj: its log's bytes per op)
#   BASE=abc1234 bench/compare.sh ...        # also `sio serve --quiet` built at commit abc1234: before/after in one run
#
# Needs: Go, Node ≥ 18 with npm, taskset (util-linux), Linux /proc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${SIO_BENCH_OUT:-$root/bench/.out}
mkdir -p "$out"
go build -o "$out/sio" ./cmd/sio
go build -o "$out/compare" ./bench/compare
go build -o "$out/goserver" ./bench/goserver
if [ ! -d bench/node/node_modules ]; then
	(cd bench/node && npm ci --no-audit --no-fund)
fi
base=()
if [ -n "${BASE:-}" ]; then
	wt=$(mktemp -d)
	git worktree add -q --detach "$wt" "$BASE"
	(cd "$wt" && go build -o "$out/sio-base" ./cmd/sio) || { git worktree remove --force "$wt"; exit 1; }
	git worktree remove --force "$wt"
	base=(-sio-base "$out/sio-base")
fi
exec "$out/compare" -sio "$out/sio" -goserver "$out/goserver" "${base[@]}" -node bench/node "$@"
