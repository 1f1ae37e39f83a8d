#!/usr/bin/env bash
# Profile a server under a sio bench load with perf (the server pinned to
# CPU 0 and sampled there, the load on CPU 1), and print where its CPU goes.
#
#   bench/profile.sh sio echo        # sio serve --echo --recovery 0
#   bench/profile.sh sioq ack        # sio serve --quiet; sioj: sio serve -o json, its log to a file
#   bench/profile.sh lib fanout      # bench/goserver (pkg/server, no log) with rooms + broadcast
#   bench/profile.sh node ack        # the Node reference server
# Scenarios: echo, ack, fanout (4 broadcasts in flight), fanout1 (one), polling
# (1,000 long-polling clients, acked emits). Needs perf, taskset, Go, Node. Not part of CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
kind=${1:?sio, sioq, sioj, lib or node}; scen=${2:?echo, ack or fanout}
out=${SIO_BENCH_OUT:-$root/bench/.out}
mkdir -p "$out"
go build -o "$out/sio" ./cmd/sio
go build -o "$out/goserver" ./bench/goserver
[ -d bench/node/node_modules ] || (cd bench/node && npm ci --no-audit --no-fund)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
case $scen in
echo) sflags=(--echo); load=(-s echo -c 50 -d 6s) ;;
ack) sflags=(); load=(-s ack -c 50 -d 6s) ;;
fanout) sflags=(--rooms --broadcast); load=(-s fanout -c 1000 --inflight 4 -d 6s --timeout 10s) ;;
fanout1) sflags=(--rooms --broadcast); load=(-s fanout -c 1000 --inflight 1 -d 6s --timeout 10s) ;;
polling) sflags=(); load=(-s ack -c 1000 --transport polling --timeout 30s -d 8s) ;;
*) echo "scenario $scen unknown" >&2; exit 2 ;;
esac
case $kind in
sio) taskset -c 0 "$out/sio" serve --no-tui --recovery 0 -p "$port" "${sflags[@]}" > /dev/null 2>&1 & comm=sio ;;
sioq) taskset -c 0 "$out/sio" serve --no-tui --quiet --recovery 0 -p "$port" "${sflags[@]}" > /dev/null 2>&1 & comm=sio ;;
sioj) taskset -c 0 "$out/sio" serve --no-tui -o json --recovery 0 -p "$port" "${sflags[@]}" > "$out/profile-log.jsonl" 2>&1 & comm=sio ;;
lib) taskset -c 0 "$out/goserver" -port "$port" "${sflags[@]/--/-}" > /dev/null 2>&1 & comm=goserver ;;
node) taskset -c 0 node bench/node/server.mjs --port "$port" "${sflags[@]}" > /dev/null 2>&1 & comm=node ;;
*) echo "server $kind unknown" >&2; exit 2 ;;
esac
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
taskset -c 1 "$out/sio" bench --progress off "${load[@]}" "http://127.0.0.1:$port" > "$out/profile-bench.txt" 2>&1 &
bench=$!
sleep 2
# System-wide on CPU 0, then only the server's samples: perf -p misses
# threads a Go runtime starts later.
perf record -e cpu-clock -F 1999 -g -a -C 0 -o "$out/perf.data" -- sleep 3 > /dev/null 2>&1
wait $bench || true
grep -E "throughput|errors  " "$out/profile-bench.txt"
echo "--- cumulative (user-space frames)"
perf report -i "$out/perf.data" --comm "$comm" --children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | grep -v '\[k\]' | head -40
echo "--- self"
perf report -i "$out/perf.data" --comm "$comm" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25
