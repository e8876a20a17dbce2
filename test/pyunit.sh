#!/usr/bin/env bash
# Runs the Python unittest suite in the given directory, and reports the
# skipped tests as test/gotest.sh does (see skips.sh).
set -uo pipefail
. "$(dirname "$0")/skips.sh"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
python3 -m unittest discover -v -s "$1" >"$log" 2>&1
status=$?
tail -n 4 "$log"
if ((status != 0)); then
	grep -A30 -E '^(FAIL|ERROR):' "$log" | head -n 400
fi
# "test_x (mod.Class.test_x) ... skipped 'reason'"
skipped=$(sed -n "s/^.* \.\.\. skipped '\(.*\)'\$/\1/p" "$log" | sort | uniq -c |
	awk -v dir="$1" '{ n = $1; $1 = ""; printf "skipped %d test%s in %s:%s\n", n, n == 1 ? "" : "s", dir, $0 }')
report_skips "$skipped" "Python tests" || exit 1
exit "$status"
