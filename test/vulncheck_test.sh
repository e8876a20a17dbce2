#!/usr/bin/env bash
# Proves that test/vulncheck.sh catches what it is for: a throwaway module
# that calls golang.org/x/text/language.Parse must fail with GO-2021-0113
# (exit 3) at x/text v0.3.6, and pass at v0.3.7, where that is fixed (the
# same version's GO-2022-1059 is in functions the module does not call).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
go=${GO:-go}
. "$here/skips.sh"
tmp=$(mktemp -d /tmp/niod-vulncheck.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
export CGO_ENABLED=0

cat >"$tmp/go.mod" <<'MOD'
module vulncheck.test/textparse

go 1.22

require golang.org/x/text v0.3.6
MOD
cat >"$tmp/main.go" <<'SRC'
package main

import "golang.org/x/text/language"

// Little of the standard library, so that its own vulnerabilities stay out.
func main() {
	if _, err := language.Parse("en-US"); err != nil {
		panic(err)
	}
}
SRC

passed=0 failed=0
# check VERSION WANT_STATUS WANT_FOUND: scans the module at x/text VERSION.
check() {
	local version=$1 want=$2 found=$3 out status
	if ! (cd "$tmp" && "$go" get "golang.org/x/text@$version" && "$go" mod tidy) >"$tmp/get.log" 2>&1; then
		cat "$tmp/get.log" >&2
		report_skips "test/vulncheck_test.sh: cannot download golang.org/x/text@$version" checks || exit 1
		echo "vulncheck_test: skipped"
		exit 0
	fi
	out=$("$here/vulncheck.sh" "$tmp" 2>&1)
	status=$?
	# vulncheck.sh has reported its own skip.
	if [[ $status -eq 0 && $out == *"vulncheck: skipped"* ]]; then
		echo "$out"
		exit 0
	fi
	local got=no
	grep -q '^Vulnerability #[0-9]*: GO-2021-0113$' <<<"$out" && got=yes
	if [[ $status -eq $want && $got == "$found" ]]; then
		echo "ok   x/text $version: exit $status, GO-2021-0113 reported: $got"
		passed=$((passed + 1))
	else
		echo "FAIL x/text $version: exit $status (want $want), GO-2021-0113 reported: $got (want $found)"
		echo "$out"
		failed=$((failed + 1))
	fi
}
check v0.3.6 3 yes
check v0.3.7 0 no
echo "vulncheck_test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
