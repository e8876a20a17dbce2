#!/usr/bin/env bash
# Benchmarks `niod config` against a Python configparser peer on three
# generated settings files holding 10,000 keys, then 100,000 keys.
#
# usage: bench/config-merge.sh [--json OUT] [PATH/TO/niod]
# Without a niod path niod is built from this checkout. Each size is timed in
# ROUNDS (default 3) hyperfine -N rounds of both commands, so that load
# elsewhere lands on both alike; the ratio is the median of the rounds'.
# --json writes the medians for bench/supervise.py --config-json.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
rounds=${ROUNDS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/niod-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

json=""
if [[ ${1:-} == --json ]]; then
	[[ $# -ge 2 ]] || {
		echo "usage: bench/config-merge.sh [--json OUT] [PATH/TO/niod]" >&2
		exit 64
	}
	json=$2
	shift 2
fi

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

sudo=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then
	sudo=sudo
fi

if [[ $# -ge 1 ]]; then
	niod=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
	go=$(command -v go || echo /usr/local/go/bin/go)
	(cd "$repo" && CGO_ENABLED=0 "$go" build -trimpath -ldflags '-s -w' -o "$work/niod" ./cmd/niod)
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

export BENCH_HOME=/srv/bench BENCH_USER=bench
# The interpreter itself, not a version-manager shim in front of it.
python=$(python3 -c 'import sys; print(sys.executable)')

# hyperfine -N splits each command like a shell would: quote every word.
quote() {
	local out="" w
	for w in "$@"; do out+=$(printf '%q ' "$w"); done
	printf '%s' "${out% }"
}

# size KEYS WARMUP RUNS: generate, compare the outputs, time in rounds.
size() {
	local keys=$1 warmup=$2 runs=$3 settings=$work/settings-$1
	"$python" "$here/gen_settings.py" "$settings" --keys "$keys"
	local niod_cmd=("$niod" config --reveal -r "$settings" -s a.conf -s b.conf -s c.conf)
	local py_cmd=("$python" "$here/configparser_merge.py" "$settings" a.conf b.conf c.conf)
	local counted bytes
	counted=$(cat "$settings"/*.conf | grep -cE '^[^[#;[:space:]][^=]* = ' || true)
	bytes=$(cat "$settings"/*.conf | wc -c)
	echo
	echo "## $keys keys: $(wc -c <"$settings/a.conf") + $(wc -c <"$settings/b.conf") + $(wc -c <"$settings/c.conf") bytes, $counted keys counted"
	echo "\$ $(quote "${niod_cmd[@]}")"
	echo "\$ $(quote "${py_cmd[@]}")"

	"${niod_cmd[@]}" >"$work/niod.out"
	"${py_cmd[@]}" >"$work/python.out"
	if ! diff -u "$work/python.out" "$work/niod.out" >"$work/diff.txt"; then
		echo "niod and configparser disagree on $keys keys:" >&2
		head -n 40 "$work/diff.txt" >&2
		exit 1
	fi
	echo "outputs identical ($(wc -l <"$work/niod.out") lines)"

	local r
	for ((r = 1; r <= rounds; r++)); do
		hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
			--export-json "$work/hyperfine-$keys-$r.json" \
			-n niod "$(quote "${niod_cmd[@]}")" \
			-n python-configparser "$(quote "${py_cmd[@]}")" >"$work/hyperfine.out" ||
			{
				cat "$work/hyperfine.out" >&2
				exit 1
			}
		grep -E '^(Benchmark|  Time)' "$work/hyperfine.out" | sed "s/^/round $r: /"
	done
	echo "$keys $bytes $warmup $runs" >>"$work/sizes"
}

size 10000 3 10
size 100000 1 5

echo
"$python" - "$work" "$rounds" "$load_start" "$json" <<'PY'
import json, os, statistics, sys

work, rounds, load_start, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sizes = []
for line in open(os.path.join(work, "sizes")):
    keys, size, warmup, runs = (int(x) for x in line.split())
    niod, py, ratios = [], [], []
    for r in range(1, rounds + 1):
        res = {x["command"]: x for x in json.load(open(os.path.join(work, f"hyperfine-{keys}-{r}.json")))["results"]}
        n = [t * 1e3 for t in res["niod"]["times"]]
        p = [t * 1e3 for t in res["python-configparser"]["times"]]
        niod += n
        py += p
        ratios.append(statistics.median(n) / statistics.median(p))
    c = {"keys": keys, "bytes": size, "rounds": rounds, "runs": runs,
         "niod_ms": statistics.median(niod), "python_ms": statistics.median(py),
         "round_ratios": ratios}
    sizes.append(c)
    r = statistics.median(ratios)
    print(f"{keys} keys: niod median {c['niod_ms']:.1f} ms, python3 configparser median {c['python_ms']:.1f} ms; "
          f"niod/configparser {r:.3f} (median of {rounds} rounds), {1 / r:.1f}x faster (goal: 10x)")
if out:
    load_end = open("/proc/loadavg").read().split()[:3]
    with open(out, "w") as f:
        json.dump({"load_start": [float(x) for x in load_start.split()],
                   "load_end": [float(x) for x in load_end], "sizes": sizes}, f, indent=1)
    print(f"medians written to {out}")
PY
