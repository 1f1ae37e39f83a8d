#!/usr/bin/env bash
# Long fuzzing of every fuzz target in the module. Not part of CI: run it
# before a release and before closing an issue that touches a decoder, the
# frame reader or the proxy (FUZZING.md has the figures of the last long run).
#
#   scripts/fuzz.sh [total-duration] [target|package ...]
#
#   scripts/fuzz.sh                      # every target, 10m of wall time in all
#   scripts/fuzz.sh 100m                 # every target, 100 minutes in all
#   scripts/fuzz.sh 50m ./pkg/protocol   # only that package's targets
#   scripts/fuzz.sh FuzzParsePacket      # only the named targets (10m in all)
#
# Targets are found with `go test -list '^Fuzz'` in every package with a
# `func Fuzz` in a _test.go file. FUZZJOBS of them (default: the number of
# cores) run at a time, each as one `go test -fuzz` with one worker
# (-parallel 1), so the machine stays at one fuzz process per core; the
# total time is shared out evenly: each target gets
#   total / ceil(targets / FUZZJOBS)
# (FUZZTIME=5m instead gives each target 5m, whatever the total).
#
# Minimizing a new interesting input is capped at FUZZMINIMIZETIME
# (default 10s, go test's is 60s): a target with goroutines (the client)
# has coverage that varies from run to run, and minimizing its inputs then
# ran to the cap each time, with no execs counted, for most of the run.
#
# Everything runs under `nice -n 19` so it does not starve other work;
# FUZZNICE=0 runs it at normal priority.
#
# The corpus: every input that found new coverage is kept by go test in
# its cache, $(go env GOCACHE)/fuzz/<package>/<Target>, and the next run
# starts from it, so runs add up on one machine. It is not copied into the
# repository: testdata/fuzz/<Target>/ holds the seeds and crashers that
# plain `go test` replays in CI, and thousands of generated inputs there
# would slow every CI run for little gain. FUZZCORPUS=<dir> keeps a copy
# outside the cache (to carry it to another machine or keep it across a
# `go clean -fuzzcache`): it is copied into the cache before the run and
# the cache is copied back into <dir>/<package>/<Target>/ after it.
#
# At the end a table gives, per target, the time, the execs, the new
# interesting inputs of this run and the corpus size. A crasher is written
# by go test to <package>/testdata/fuzz/<Target>/<hash>; the script prints
# that path and exits 1 (commit the file with the fix: plain `go test`
# replays it). Logs stay in FUZZLOGDIR (default: a new directory in /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."

# seconds parses a Go-style duration (90s, 10m, 1h30m) into seconds.
seconds() {
	local d=$1 total=0 n unit
	if ! [[ $d =~ ^([0-9]+[hms])+$ ]]; then
		return 1
	fi
	while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
		n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
		case $unit in
		h) total=$((total + 10#$n * 3600)) ;;
		m) total=$((total + 10#$n * 60)) ;;
		s) total=$((total + 10#$n)) ;;
		esac
	done
	echo "$total"
}

total=600
if [ $# -gt 0 ] && t=$(seconds "$1"); then
	total=$t
	shift
fi
want=("$@")
jobs=${FUZZJOBS:-$(nproc 2>/dev/null || echo 2)}
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
	echo "FUZZJOBS must be a positive number, not '$jobs'" >&2
	exit 2
fi
nice=(nice -n 19)
if [ "${FUZZNICE:-1}" = 0 ]; then
	nice=()
fi
module=$(go list -m)

# Discover: packages with a Fuzz function in a test file, then go test -list.
mapfile -t pkgs < <(grep -rl --include='*_test.go' -E '^func Fuzz[A-Z0-9_]' \
	--exclude-dir=node_modules --exclude-dir=.git . | xargs -r -n1 dirname | sort -u)
# Packages named on the command line (./pkg/x) narrow the listing; target
# names need every package listed.
named=()
for w in "${want[@]}"; do
	if [[ $w == ./* ]]; then
		named+=("${w%/}")
	fi
done
if [ ${#named[@]} -gt 0 ] && [ ${#named[@]} -eq ${#want[@]} ]; then
	pkgs=("${named[@]}")
fi
targets=() # "package target"
for pkg in "${pkgs[@]}"; do
	list=$("${nice[@]}" go test -list '^Fuzz' "$pkg") || {
		echo "go test -list failed in $pkg:" >&2
		echo "$list" >&2
		exit 2
	}
	while read -r t; do
		if [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" $t "* || " ${want[*]} " == *" $pkg "* ]]; then
			targets+=("$pkg $t")
		fi
	done < <(grep '^Fuzz' <<<"$list")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "no fuzz target matches: ${want[*]}" >&2
	exit 2
fi

waves=$(((${#targets[@]} + jobs - 1) / jobs))
each=$((total / waves))
if [ -n "${FUZZTIME:-}" ]; then
	each=$(seconds "$FUZZTIME") || {
		echo "FUZZTIME must be a duration like 90s, 10m or 1h, not '$FUZZTIME'" >&2
		exit 2
	}
fi
if [ "$each" -lt 1 ]; then
	each=1
fi
logdir=${FUZZLOGDIR:-$(mktemp -d /tmp/sio-fuzz.XXXXXX)}
mkdir -p "$logdir"
cache=$(go env GOCACHE)/fuzz
echo "fuzz: ${#targets[@]} targets, $jobs at a time, ${each}s each (about $((waves * each / 60))m$((waves * each % 60))s of fuzzing, plus the builds); logs in $logdir"

# logname turns "./pkg/x FuzzY" into a file name.
logname() { local s="${1#./} $2"; echo "$logdir/${s//[\/ ]/_}.log"; }

run() {
	local pkg=$1 t=$2 log
	log=$(logname "$pkg" "$t")
	if [ -n "${FUZZCORPUS:-}" ] && [ -d "$FUZZCORPUS/${pkg#./}/$t" ]; then
		mkdir -p "$cache/$module/${pkg#./}/$t"
		cp -n "$FUZZCORPUS/${pkg#./}/$t"/* "$cache/$module/${pkg#./}/$t/" 2>/dev/null || true
	fi
	local rc=0
	"${nice[@]}" go test -run='^$' -fuzz="^${t}\$" -fuzztime="${each}s" \
		-fuzzminimizetime="${FUZZMINIMIZETIME:-10s}" -parallel 1 "$pkg" >"$log" 2>&1 || rc=$?
	echo "$rc" >"$log.rc"
}

# Run the targets, at most $jobs at a time. Each job is its own process
# group (set -m), so an interrupt stops the go test processes it started
# and nothing else.
set -m
stop() {
	trap - INT TERM
	for pid in $(jobs -p); do
		kill -TERM -- "-$pid" 2>/dev/null || true
	done
	wait
	echo "fuzz: interrupted; logs in $logdir" >&2
	exit 130
}
trap stop INT TERM
for pt in "${targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n || true
	done
	run ${pt} &
	echo "  started ${pt#./} ($(date +%H:%M:%S))"
done
wait
trap - INT TERM
set +m

if [ -n "${FUZZCORPUS:-}" ]; then
	for pt in "${targets[@]}"; do
		pkg=${pt% *} t=${pt#* }
		if [ -d "$cache/$module/${pkg#./}/$t" ]; then
			mkdir -p "$FUZZCORPUS/${pkg#./}/$t"
			cp -n "$cache/$module/${pkg#./}/$t"/* "$FUZZCORPUS/${pkg#./}/$t/" 2>/dev/null || true
		fi
	done
fi

# The report: go test prints "fuzz: elapsed: 601s, execs: 123 (..), new
# interesting: 4 (total: 56)" every few seconds and once more at the end.
failed=0
printf '\n%-40s %-28s %8s %12s %8s %8s  %s\n' package target time execs new corpus result
for pt in "${targets[@]}"; do
	pkg=${pt% *} t=${pt#* }
	log=$(logname "$pkg" "$t")
	rc=$(cat "$log.rc" 2>/dev/null || echo "?")
	last=$(grep -E '^fuzz: elapsed: ' "$log" | tail -n 1 || true)
	elapsed=$(sed -nE 's/.*elapsed: ([0-9hms.]+),.*/\1/p' <<<"$last")
	execs=$(sed -nE 's/.*execs: ([0-9]+) .*/\1/p' <<<"$last")
	newi=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	corpus=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")
	result=ok
	if [ "$rc" != 0 ]; then
		failed=1
		crasher=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$log" | tail -n 1)
		if [ -n "$crasher" ]; then
			result="CRASHER ${pkg#./}/$crasher"
		else
			result="FAILED (exit $rc, see $log)"
		fi
	fi
	printf '%-40s %-28s %8s %12s %8s %8s  %s\n' "${pkg#./}" "$t" "${elapsed:--}" "${execs:--}" "${newi:--}" "${corpus:--}" "$result"
done
if [ "$failed" != 0 ]; then
	echo "fuzz: failures above; a crasher is replayed by plain go test once committed (logs in $logdir)" >&2
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
