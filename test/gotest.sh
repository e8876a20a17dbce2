#!/usr/bin/env bash
# Runs go test on the given packages. With CI=true a skipped test is a
# failure: the suites that need root or a real systemd must run in CI.
set -uo pipefail
go=${GO:-go}
if [[ ${CI:-} != true ]]; then
	exec "$go" test -count=1 "$@"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$go" test -count=1 -v "$@" >"$log" 2>&1
status=$?
grep -E '^(=== RUN|--- (FAIL|SKIP)|FAIL|ok|panic)' "$log" | grep -v '^=== RUN' || true
if ((status != 0)); then
	grep -B2 -A30 -E '^--- FAIL' "$log" | head -n 400
fi
if grep -qE -- '--- SKIP' "$log"; then
	echo "CI=true: these tests were skipped, and must run in CI:" >&2
	grep -A3 -E -- '--- SKIP' "$log" >&2
	exit 1
fi
exit "$status"
