#!/usr/bin/env bash
# Benchmarks niod as a supervisor side by side with tini, dumb-init,
# supervisord, runit's runsv and Go floors (bench/floor, bench/floorterm,
# bench/floorgroup): launch overhead, memory, crash-to-restart and
# SIGTERM-to-exit latency, stopping a tree of 1,000 processes, readiness
# latency and idle cost. See bench/supervise.py for what is measured.
#
# usage: bench/supervise.sh [PATH/TO/niod] [supervise.py options...]
#        e.g. bench/supervise.sh bin/niod --markdown /tmp/supervise.md
#             bench/supervise.sh bin/niod --config-json OUT-of-config-merge.sh
# Without a niod path, niod is built from this checkout into a temporary
# directory. Missing peers are installed with apt-get when possible; a peer
# that is still missing is skipped with a note.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/niod-supervise-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

sudo=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then
	sudo=sudo
fi

# command -> Debian package
declare -A pkg=([hyperfine]=hyperfine [tini]=tini [dumb-init]=dumb-init
	[supervisord]=supervisor [runsv]=runit [gcc]=gcc)
missing=()
for cmd in hyperfine tini dumb-init supervisord runsv gcc; do
	command -v "$cmd" >/dev/null || missing+=("${pkg[$cmd]}")
done
if ((${#missing[@]})) && command -v apt-get >/dev/null; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	install() { $sudo apt-get install -y --no-install-recommends "$@" >"$work/apt.log" 2>&1; }
	if ! install "${missing[@]}"; then
		$sudo apt-get update >"$work/apt.log" 2>&1 || true
		# One at a time, so one unavailable package does not stop the others.
		for p in "${missing[@]}"; do
			install "$p" || echo "warning: could not install $p (its measurements are skipped)" >&2
		done
	fi
fi

go=$(command -v go || echo /usr/local/go/bin/go)
build() { (cd "$repo" && CGO_ENABLED=0 "$go" build -trimpath -ldflags '-s -w' -o "$work/$1" "$2"); }
if [[ $# -ge 1 && $1 != -* ]]; then
	niod=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
	shift
else
	echo "building niod from $repo"
	build niod ./cmd/niod
	niod=$work/niod
fi
[[ -x $niod ]] || {
	echo "niod binary not found: $niod" >&2
	exit 1
}

# crashloop: static when the C library allows it, so its own start-up (part
# of the measured restart latency) costs no dynamic linking.
crashloop=()
if command -v gcc >/dev/null; then
	if gcc -O2 -static -o "$work/crashloop" "$here/crashloop.c" 2>/dev/null ||
		gcc -O2 -o "$work/crashloop" "$here/crashloop.c"; then
		crashloop=(--crashloop "$work/crashloop")
	fi
fi
if ((${#crashloop[@]} == 0)); then
	echo "warning: gcc missing or failed: crash-to-restart latency is skipped" >&2
fi

# The Go floors, built as niod is.
helpers=()
for h in floor floorterm floorgroup; do
	if build "$h" "./bench/$h"; then
		helpers+=("--$h" "$work/$h")
	else
		echo "warning: bench/$h did not build: the figures that need it are skipped" >&2
	fi
done
# tree: static like crashloop, so that its 1,000 forks share one small image.
if command -v gcc >/dev/null && { gcc -O2 -static -o "$work/tree" "$here/tree.c" 2>/dev/null ||
	gcc -O2 -o "$work/tree" "$here/tree.c"; }; then
	helpers+=(--tree "$work/tree")
else
	echo "warning: gcc missing or failed: the tree stop is skipped" >&2
fi

# The interpreter itself, not a version-manager shim in front of it, so that
# a TERM to this script reaches the harness, which then stops all it started.
python=$(python3 -c 'import sys; print(sys.executable)')
"$python" "$here/supervise.py" --niod "$niod" "${crashloop[@]}" "${helpers[@]}" "$@" &
harness=$!
trap 'kill -TERM "$harness" 2>/dev/null' TERM INT HUP
status=0
wait "$harness" || status=$?
if kill -0 "$harness" 2>/dev/null; then
	# wait was cut short by a signal: let the harness finish its cleanup.
	wait "$harness" || status=$?
fi
exit "$status"
