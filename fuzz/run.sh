#!/usr/bin/env bash
# run.sh — runs or replays the libFuzzer targets built by `make fuzz-build`.
#
#   fuzz/run.sh run BUILD SECONDS TARGET...
#       fuzzes each target in turn (one process at a time, at nice 19) for
#       SECONDS on fuzz/corpus/TARGET/, where new inputs are added; prints
#       per target the runs, the execs/s and the CPU-seconds, and appends
#       them to fuzz/runs.tsv, from which fuzz/README.md sums CPU-hours.
#       A crash leaves its input in BUILD/fuzz/crashes/TARGET/.
#   fuzz/run.sh replay BUILD 0 TARGET...
#       runs each target once over every file of its committed corpus;
#       one pass per target whose whole corpus ran clean, and the closing
#       line "N passed, N failed".
#   fuzz/run.sh total
#       sums fuzz/runs.tsv per target: runs, CPU-seconds, CPU-hours.
#   fuzz/run.sh merge BUILD 0 TARGET...
#       shrinks each corpus to the inputs that add coverage (libFuzzer's
#       -merge=1), before a corpus is committed.
set -u
cd "$(dirname "$0")/.."

mode=${1:?run, replay, merge or total}
if [ "$mode" = total ]; then
	awk -F'\t' '{ runs[$2] += $4; cpu[$2] += $5; crash[$2] += $6 }
		END { printf "| target | runs | CPU-seconds | CPU-hours | crashes |\n"
		      printf "| --- | ---: | ---: | ---: | ---: |\n"
		      for (t in cpu) { printf "| %s | %d | %d | %.2f | %d |\n", t, runs[t], cpu[t], cpu[t] / 3600, crash[t]; all += cpu[t] }
		      printf "| all | | %d | %.2f | |\n", all, all / 3600 }' fuzz/runs.tsv
	exit 0
fi
build=${2:?build directory}
seconds=${3:-60}
shift 3
# The same checks as tests/run.sh: a fuzzing run must not find less than
# the replay in CI.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
pass=0
failed=0
# git keeps no file modes but the executable bit: the fictional PKI's key
# comes out of a clone readable by others, which kipd's key loader refuses.
chmod 0600 fuzz/pki/*.key 2>/dev/null

for t in "$@"; do
	bin=$build/fuzz/fuzz_$t
	corpus=fuzz/corpus/$t
	dict=()
	[ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
	if [ ! -x "$bin" ]; then
		echo "not ok - $t: $bin was not built"
		failed=$((failed + 1))
		continue
	fi
	if [ "$mode" = merge ]; then
		rm -rf "$corpus.merged" && mkdir -p "$corpus.merged"
		if nice -n 19 "$bin" -merge=1 -timeout=30 "$corpus.merged" "$corpus" \
			>"$build/fuzz/merge_$t.log" 2>&1; then
			before=$(find "$corpus" -type f | wc -l)
			rm -rf "$corpus" && mv "$corpus.merged" "$corpus"
			echo "ok - $t: corpus $before -> $(find "$corpus" -type f | wc -l) inputs"
			pass=$((pass + 1))
		else
			rm -rf "$corpus.merged"
			echo "not ok - $t: merge failed, see $build/fuzz/merge_$t.log"
			failed=$((failed + 1))
		fi
		continue
	fi
	if [ "$mode" = replay ]; then
		n=$(find "$corpus" -type f 2>/dev/null | wc -l)
		if [ "$n" -eq 0 ]; then
			echo "not ok - $t: no corpus in $corpus"
			failed=$((failed + 1))
			continue
		fi
		# -runs=0: every corpus file is executed once, nothing new.
		if out=$("$bin" -runs=0 -timeout=30 "$corpus" 2>&1); then
			echo "ok - $t: $n inputs replayed clean"
			pass=$((pass + 1))
		else
			echo "not ok - $t: replay of $corpus failed"
			printf '%s\n' "$out" | grep -E 'ERROR|SUMMARY|#[0-9]+ 0x|Test unit written|==[0-9]+==' |
				head -30 | sed 's/^/    # /'
			failed=$((failed + 1))
		fi
		continue
	fi
	mkdir -p "$corpus" "$build/fuzz/crashes/$t"
	log=$build/fuzz/fuzz_$t.log
	touch "$log.start"
	TIMEFORMAT='%U %S'
	cpu=$({ time nice -n 19 "$bin" -max_total_time="$seconds" -timeout=30 \
		-print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$build/fuzz/crashes/$t/" \
		"$corpus" >"$log" 2>&1; } 2>&1 | awk '{printf "%.0f", $1 + $2}')
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	eps=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	crashes=$(find "$build/fuzz/crashes/$t" -type f -newer "$log.start" | wc -l)
	printf '%-10s runs %10s  execs/s %6s  CPU-s %5s  corpus %5s  crashes %s\n' \
		"$t" "${runs:-?}" "${eps:-?}" "${cpu:-?}" \
		"$(find "$corpus" -type f | wc -l)" "$crashes"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" \
		"${runs:-0}" "${cpu:-0}" "$crashes" >>fuzz/runs.tsv
	if [ "$crashes" -gt 0 ] || grep -qE '==[0-9]+==ERROR|SUMMARY: |deadly signal' "$log"; then
		echo "  $t found a crash: see $log and $build/fuzz/crashes/$t/"
		failed=$((failed + 1))
	else
		pass=$((pass + 1))
	fi
done
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
