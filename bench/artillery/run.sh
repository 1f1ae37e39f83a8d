#!/usr/bin/env bash
# Artillery 2.0 (socketio engine) against sio bench, as PERF.md measures
# them: the Node reference server pinned to CPU 0, the load generator to
# CPU 1, and the load generator's CPU time per acknowledged emit in the
# steady state: the generator's utime+stime (/proc/PID/stat) and the
# server's count of acks (server.mjs --stats) are sampled over 4 s once the
# server has counted 20,000 acks of the run, so start-up, connecting and
# shutdown are left out.
#
#   bench/artillery/run.sh            # 3 rounds, interleaved
#   ROUNDS=5 SIO_BIN=./sio bench/artillery/run.sh
# Not part of CI. Needs Node ≥ 18, npm, taskset, Go.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${ROUNDS:-3}
out=${SIO_BENCH_OUT:-$root/bench/.out}
mkdir -p "$out"
# SIO_BIN=path uses an already built sio instead of building one.
if [ -n "${SIO_BIN:-}" ]; then [ "$SIO_BIN" -ef "$out/sio" ] || cp "$SIO_BIN" "$out/sio"; else (cd "$root" && go build -o "$out/sio" ./cmd/sio); fi
[ -d "$here/node_modules" ] || (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund)
[ -d "$root/bench/node/node_modules" ] || (cd "$root/bench/node" && npm ci --no-audit --no-fund)
export ARTILLERY_DISABLE_TELEMETRY=true
tck=$(getconf CLK_TCK)

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
taskset -c 0 node "$root/bench/node/server.mjs" --port "$port" --stats > "$out/server-stats.log" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
acks() { awk '/^events/ { a = $4 } END { print a + 0 }' "$out/server-stats.log"; }

# measure NAME CMD...: runs CMD pinned to CPU 1 in the background, waits
# for its steady state (20,000 acks counted by the server since it started:
# Artillery itself takes several seconds to start on a slow machine, and a
# fixed 3 s wait measured its start-up), then samples 4 s and prints acks/s
# and CPU µs per ack over that window.
measure() {
	local name=$1; shift
	local a0
	a0=$(acks)
	taskset -c 1 "$@" > "$out/last.log" 2>&1 &
	local pid=$!
	for _ in $(seq 300); do
		[ $(( $(acks) - a0 )) -ge 20000 ] && break
		sleep 0.1
	done
	local c1 a1 c2 a2
	c1=$(cpu "$pid"); a1=$(acks)
	sleep 4
	c2=$(cpu "$pid"); a2=$(acks)
	wait "$pid" || true
	awk -v n="$name" -v r="$round" -v c1="$c1" -v c2="$c2" -v a1="$a1" -v a2="$a2" -v t="$tck" 'BEGIN{
		d=a2-a1; printf "%-22s %6d %10d %10.0f %14.2f %10.0f%%\n", n, r, d, d/4, (c2-c1)/t*1e6/d, (c2-c1)/t/4*100 }'
}

printf '%-22s %6s %10s %10s %14s %11s\n' tool round "acks" "acks/s" "CPU µs/ack" "CPU use"
for round in $(seq "$rounds"); do
	measure artillery "$here/node_modules/.bin/artillery" run --quiet --target "http://127.0.0.1:$port" -o "$out/artillery.json" "$here/ack.yml"
	node -e 'const r=require(process.argv[1]).aggregate; const e=(r.counters||{})["errors.total"]||0, f=(r.counters||{})["vusers.failed"]||0;
		if (e||f) console.log("  artillery reported errors:", e, "failed users:", f)' "$out/artillery.json"
	for inflight in 1 16; do
		measure "sio bench inflight $inflight" "$out/sio" bench -s ack -c 50 -d 14s --inflight "$inflight" --payload-size 64 --progress off --max-errors 0 "http://127.0.0.1:$port"
		grep -E "^errors|^validation" "$out/last.log" | sed 's/^/  /'
	done
done
