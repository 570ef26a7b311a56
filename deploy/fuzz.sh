#!/usr/bin/env bash
# fuzz.sh [SECONDS] - builds the libFuzzer targets (tests/fuzz, clang with
# AddressSanitizer and UndefinedBehaviorSanitizer) and runs each for
# SECONDS (default 20) from its seed corpus in tests/fuzz/corpus/NAME.
# Inputs the fuzzer finds go to a scratch directory, never into the tree;
# a crash fails the run and its input is kept in build-fuzz/crashes/ (add
# it to the corpus as a regression seed once fixed). Prints, per target,
# executions per second and the coverage reached (libFuzzer's edges).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-${FUZZ_SECONDS:-20}}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DRK_SANITIZE=ON \
	-DRK_FUZZ=ON -DRK_WERROR=ON >/dev/null
cmake --build build-fuzz --target rk_fuzz -j"$(nproc)" >/dev/null
mkdir -p build-fuzz/crashes
fail=0
printf '%-16s %10s %8s %8s %6s\n' target exec/s cov ft corpus
for bin in build-fuzz/fuzz/fuzz_*; do
	t=${bin#build-fuzz/fuzz/fuzz_}
	work=$(mktemp -d)
	log=build-fuzz/fuzz_$t.log
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=build-fuzz/crashes/"$t"- \
		"$work" tests/fuzz/corpus/"$t" >"$log" 2>&1; then
		echo "fuzz_$t: FAILED (see $log and build-fuzz/crashes/)" >&2
		grep -E "ERROR|SUMMARY|runtime error" "$log" | head -5 >&2
		fail=1
	fi
	done_line=$(grep -E '#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
	printf '%-16s %10s %8s %8s %6s\n' "$t" \
		"$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log")" \
		"$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$done_line")" \
		"$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")" \
		"$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")"
	rm -rf "$work"
done
exit $fail
