#!/usr/bin/env bash
# Runs the Python unittest suite in the given directory. With CI=true a
# skipped test is a failure, as for the Go suites.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
python3 -m unittest discover -s "$1" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ ${CI:-} == true ]] && grep -qE '^OK \(.*skipped|skipped ' "$log"; then
	echo "CI=true: Python tests were skipped, and must run in CI" >&2
	exit 1
fi
exit "$status"
