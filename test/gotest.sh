#!/usr/bin/env bash
# Runs go test on the given packages and prints one line per package, the
# output of what failed, and the skipped tests (see skips.sh).
set -uo pipefail
go=${GO:-go}
here=$(dirname "$0")
. "$here/skips.sh"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
"$go" test -count=1 -json "$@" | python3 "$here/gotest-report.py" "$list"
status=${PIPESTATUS[0]}
report_skips "$(cat "$list")" tests || exit 1
exit "$status"
