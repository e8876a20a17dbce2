# Sourced by the suite runners: report_skips LINES WHAT reports skipped
# tests, one line per package (or directory) and reason. With CI=true a
# skip fails the run (the suites that need root or a real systemd must run
# in CI); otherwise the lines go to $NIOD_SKIPPED when set (make test
# prints them at its end), else to stderr. It returns 1 when the run fails.
report_skips() {
	local lines=$1 what=$2
	[[ -n $lines ]] || return 0
	if [[ ${CI:-} == true ]]; then
		echo "CI=true: these $what were skipped, and must run in CI:" >&2
		echo "$lines" >&2
		return 1
	elif [[ -n ${NIOD_SKIPPED:-} ]]; then
		echo "$lines" >>"$NIOD_SKIPPED"
	else
		echo "$lines" >&2
	fi
}
