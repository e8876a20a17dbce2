#!/usr/bin/env bash
# Benchmarks `niod config` against a Python configparser peer on three
# generated settings files holding 10,000 keys.
#
# usage: bench/config-merge.sh [PATH/TO/niod]
# Without an argument niod is built from this checkout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/niod-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

sudo=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then
	sudo=sudo
fi

if [[ $# -ge 1 ]]; then
	niod=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
	go=$(command -v go || echo /usr/local/go/bin/go)
	(cd "$repo" && CGO_ENABLED=0 "$go" build -trimpath -o "$work/niod" ./cmd/niod)
	niod=$work/niod
fi
[[ -x $niod ]] || {
	echo "niod binary not found: $niod" >&2
	exit 1
}

if ! command -v hyperfine >/dev/null; then
	$sudo apt-get install -y hyperfine >/dev/null 2>&1 ||
		{ $sudo apt-get update >/dev/null && $sudo apt-get install -y hyperfine >/dev/null; }
fi

settings=$work/settings
python3 "$here/gen_settings.py" "$settings"
export BENCH_HOME=/srv/bench BENCH_USER=bench

niod_cmd=("$niod" config --reveal -r "$settings" -s a.conf -s b.conf -s c.conf)
# The interpreter itself, not a version-manager shim in front of it.
python=$(python3 -c 'import sys; print(sys.executable)')
py_cmd=("$python" "$here/configparser_merge.py" "$settings" a.conf b.conf c.conf)

keys=$(cat "$settings"/*.conf | grep -cE '^[^[#;[:space:]][^=]* = ' || true)
echo "settings: $(wc -c <"$settings/a.conf") + $(wc -c <"$settings/b.conf") + $(wc -c <"$settings/c.conf") bytes, $keys keys"

"${niod_cmd[@]}" >"$work/niod.out"
"${py_cmd[@]}" >"$work/python.out"
if ! diff -u "$work/python.out" "$work/niod.out" >"$work/diff.txt"; then
	echo "niod and configparser disagree:" >&2
	head -n 40 "$work/diff.txt" >&2
	exit 1
fi
echo "outputs identical ($(wc -l <"$work/niod.out") lines)"

# hyperfine -N splits each command like a shell would: quote every word.
quote() {
	local out="" w
	for w in "$@"; do out+=$(printf '%q ' "$w"); done
	printf '%s' "${out% }"
}

hyperfine --warmup 5 -N \
	--export-json "$work/hyperfine.json" \
	--export-markdown "$work/hyperfine.md" \
	-n niod "$(quote "${niod_cmd[@]}")" \
	-n python-configparser "$(quote "${py_cmd[@]}")"

echo
cat "$work/hyperfine.md"
echo
python3 - "$work/hyperfine.json" <<'PY'
import json, sys

results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
niod = results["niod"]["mean"]
py = results["python-configparser"]["mean"]
print("niod mean %.2f ms, python mean %.2f ms" % (niod * 1e3, py * 1e3))
print("ratio (python mean / niod mean): %.2f" % (py / niod))
PY
