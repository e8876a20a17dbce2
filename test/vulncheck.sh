#!/usr/bin/env bash
# Runs govulncheck on a module (default: this one) against the Go
# vulnerability database built here from golang.org/x/vulndb, which the
# module proxy serves: vuln.go.dev itself cannot be reached from here or
# from CI. Exits 3 when the code calls a vulnerable symbol (govulncheck's
# own status), 1 on any other failure.
#
# Versions come from tools/versions.env. govulncheck and the database are
# cached under $NIOD_CACHE (default ~/.cache/niod), one directory per
# version (for govulncheck, per Go version too). When either cannot be downloaded the check is reported as
# skipped (skips.sh): with CI=true that fails the run.
#
# Usage: test/vulncheck.sh [MODULE_DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
go=${GO:-go}
. "$here/skips.sh"
# make passes the versions in; run by hand, the script reads them itself.
if [[ -z ${GOVULNCHECK_VERSION:-} || -z ${VULNDB_VERSION:-} ]]; then
	. "$root/tools/versions.env"
fi
module=$(cd "${1:-$root}" && pwd) || exit 1
cache=${NIOD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/niod}
export CGO_ENABLED=0
mkdir -p "$cache" || exit 1

unavailable() {
	echo "vulncheck: $1" >&2
	report_skips "test/vulncheck.sh: $1" checks || exit 1
	echo "vulncheck: skipped"
	exit 0
}

# Keyed by the Go version too: govulncheck type-checks the standard
# library's source with the go/types it was built with, which cannot read a
# newer Go's.
goversion=$(cd "$module" && "$go" env GOVERSION) || exit 1
gvdir=$cache/govulncheck@$GOVULNCHECK_VERSION-$goversion
gv=$gvdir/govulncheck
if ! "$gv" -version 2>/dev/null | grep -qxF "Scanner: govulncheck@$GOVULNCHECK_VERSION"; then
	echo "vulncheck: installing govulncheck@$GOVULNCHECK_VERSION into $gvdir"
	(cd "$module" && GOBIN=$gvdir "$go" install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION") ||
		unavailable "cannot install golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
fi

# The key holds the generator's hash too: a changed generator rebuilds.
gen=$(cat "$root"/tools/vulndb/*.go | sha256sum | cut -c1-12)
db=$cache/vulndb/$VULNDB_VERSION-$gen
if [[ ! -f $db/index/modules.json ]]; then
	echo "vulncheck: building the database from golang.org/x/vulndb@$VULNDB_VERSION into $db"
	# Outside any module, so that no go.sum is touched.
	info=$(cd "$cache" && "$go" mod download -json "golang.org/x/vulndb@$VULNDB_VERSION") || {
		echo "$info" >&2
		unavailable "cannot download golang.org/x/vulndb@$VULNDB_VERSION"
	}
	src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
	infofile=$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
	when=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$infofile")
	[[ -d $src/data/osv && -n $when ]] || { echo "vulncheck: no data/osv or time in golang.org/x/vulndb@$VULNDB_VERSION ($src)" >&2; exit 1; }
	(cd "$root" && "$go" run ./tools/vulndb -osv "$src/data/osv" -out "$db" -modified "$when") || exit 1
fi

echo "govulncheck -C $module -db file://$db ./..."
"$gv" -C "$module" -db "file://$db" -show version ./...
status=$?
case $status in
0) ;;
3) echo "vulncheck: $module calls vulnerable symbols (above)" >&2 ;;
*) echo "vulncheck: govulncheck failed (exit $status)" >&2; status=1 ;;
esac
exit "$status"
