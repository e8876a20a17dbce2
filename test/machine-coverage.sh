#!/usr/bin/env bash
# Fails when the supervisor's state machine (the pure part of
# internal/supervisor) has less than MIN percent statement coverage from
# its unit tests.
set -euo pipefail
go=${GO:-go}
min=${MIN:-90}
profile=$(mktemp)
trap 'rm -f "$profile"' EXIT
"$go" test -count=1 -coverprofile="$profile" ./internal/supervisor/ >/dev/null
awk -v min="$min" '
	NR > 1 && $1 ~ /\/internal\/supervisor\/(machine|reload|notify|status|policy)\.go:/ {
		total += $2; if ($3 > 0) covered += $2
	}
	END {
		pct = total ? 100 * covered / total : 0
		printf "state machine statement coverage: %.1f%% (minimum %d%%)\n", pct, min
		exit pct < min
	}' "$profile"
