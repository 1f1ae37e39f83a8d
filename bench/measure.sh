#!/usr/bin/env bash
# measure.sh SERVER SCENARIO [sio bench flags...]
#
# Runs one fresh server pinned to core 0 and `sio bench` pinned to core 1
# (PERF.md's method) and prints one JSON line: the bench's throughput and
# validation next to the server's CPU (utime+stime from /proc/PID/stat) and
# RSS (VmRSS).
#
#   SERVER   go    pkg/server alone with sio serve's handlers (bench/goserver: no logging, no Tap)
#            sio   `sio serve --no-tui -o json` with its log to /dev/null
#            node  bench/node/server.mjs (socket.io 4.8.4)
#   SCENARIO echo | ack | fanout | connect
#
# Binaries: $SIO (default /tmp/perf/sio), $GOSERVER (default
# /tmp/perf/goserver); build them with
#   go build -o /tmp/perf/sio ./cmd/sio
#   go build -o /tmp/perf/goserver ./bench/goserver
# Environment: CLIENTS, DURATION, MESSAGES (fanout broadcasts), PORT,
# SIO_FLAGS (extra flags for sio serve).
set -euo pipefail
server=$1 scenario=$2
shift 2
SIO=${SIO:-/tmp/perf/sio}
GOSERVER=${GOSERVER:-/tmp/perf/goserver}
PORT=${PORT:-3210}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

flags=()
case $scenario in
echo) flags=(--echo) ;;
fanout) flags=(--rooms --broadcast) ;;
esac

case $server in
go) taskset -c 0 "$GOSERVER" -port "$PORT" "${flags[@]/#--/-}" >"$out" 2>&1 &
	pid=$! ;;
sio) taskset -c 0 "$SIO" serve --no-tui -o json -p "$PORT" ${SIO_FLAGS:-} "${flags[@]}" >/dev/null 2>"$out" &
	pid=$!
	echo "listening" >>"$out" ;;
node) (cd "$root/bench/node" && exec taskset -c 0 node server.mjs --port "$PORT" "${flags[@]}") >"$out" 2>&1 &
	pid=$! ;;
*) echo "unknown server $server" >&2; exit 2 ;;
esac
for _ in $(seq 100); do
	if grep -q listening "$out" && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
	sleep 0.1
done

cpu() { awk '{print $14+$15}' "/proc/$pid/stat"; }
rss() { awk '/VmRSS/{print $2}' "/proc/$pid/status"; }
hz=$(getconf CLK_TCK)
bench() { taskset -c 1 "$SIO" bench "http://127.0.0.1:$PORT" --progress off -o json "$@"; }

rss0=$(rss)
c0=$(cpu)
case $scenario in
echo | ack)
	res=$(bench --scenario "$scenario" -c "${CLIENTS:-50}" -d "${DURATION:-5s}" "$@") ;;
fanout)
	# Setup (1,000 connections and joins, one broadcast) is measured alone
	# in a first run on the same server and subtracted.
	bench --scenario fanout -c "${CLIENTS:-1000}" -n 1 "$@" >/dev/null
	c1=$(cpu)
	res=$(bench --scenario fanout -c "${CLIENTS:-1000}" -n "${MESSAGES:-200}" "$@")
	setup=$((c1 - c0))
	c0=$c1 ;;
connect)
	res=$(bench --scenario connect -c "${CLIENTS:-5000}" -d "${DURATION:-3s}" "$@" &
		sleep "${HOLD_SAMPLE:-2}"; rss >"$out.rss"; wait) ;;
esac
c1=$(cpu)
rss1=$(rss)
[ -f "$out.rss" ] && rss1=$(cat "$out.rss") && rm -f "$out.rss"
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

jq -c --arg server "$server" --argjson ticks "$((c1 - c0))" --argjson hz "$hz" \
	--argjson setup "${setup:-0}" --argjson rss0 "$rss0" --argjson rss1 "$rss1" '
	def ops: if .scenario == "fanout" then .deliveries elif .scenario == "connect" then .connections_opened else (.acks_matched + .replies_matched) end;
	{server: $server, scenario, clients,
	 per_s: (.throughput_per_s // 0 | floor), conn_per_s: (.connections_per_s | floor),
	 ops: ops, errors, lost: .validation.lost,
	 server_cpu_s: ($ticks / $hz),
	 cpu_us_per_op: (if .scenario == "connect" then null else ($ticks / $hz * 1e6 / ops * 100 | round / 100) end),
	 load_s: (.load_s * 100 | round / 100),
	 server_cpu_pct: (if .scenario == "fanout" or .scenario == "connect" then null else ($ticks / $hz / .load_s * 100 | round) end),
	 rss_kb_per_conn: (if .scenario == "connect" then (($rss1 - $rss0) / .connections_opened * 100 | round / 100) else null end),
	 rss_mb: ($rss1 / 1024 | round)}' <<<"$res"
