#!/bin/sh
# Holds every rekindle unit to `systemd-analyze security` <= 2.0 (of 10),
# offline (the units need not be installed). Prints each unit's figure.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
limit=2.0
fail=0
for unit in "$dir"/*.service; do
	out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || {
		echo "$out" >&2; fail=1; continue; }
	level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -z "$level" ]; then
		echo "$(basename "$unit"): no exposure level in the output" >&2
		fail=1
		continue
	fi
	echo "$(basename "$unit"): exposure $level (limit $limit)"
	if awk -v l="$level" -v m="$limit" 'BEGIN { exit !(l > m) }'; then
		printf '%s\n' "$out" | grep '✗' >&2
		fail=1
	fi
done
exit $fail
