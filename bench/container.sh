#!/usr/bin/env bash
# Benchmarks niod as a container's entrypoint under rootful podman (runc),
# side by side in one run: niod as PID 1 against tini + gosu running the
# same runtime in the same image (podman stop to exit, start to listening),
# niod's start to ready, and the size of a FROM scratch image of static
# niod and busybox. Prints a markdown table.
#
# usage: bench/container.sh [PATH/TO/niod]     (as root; BENCH_RUNS=5)
# Without a niod path, niod is built from this checkout. Images come from
# deploy/docker/Dockerfile without a registry: the Python base is the one
# test/container caches (localhost/debian-python:bookworm), made with
# debootstrap when missing; tini and gosu are Debian's packages, installed
# into a variant of the niod image. Podman's storage is test/container's
# (/var/cache/niod-test, NIOD_TEST_CACHE); /etc/containers is not touched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_RUNS:-5}
cache=${NIOD_TEST_CACHE:-/var/cache/niod-test}
label=niod-bench

[[ $(id -u) -eq 0 ]] || {
	echo "bench/container.sh needs root (rootful podman)" >&2
	exit 1
}

# command -> Debian package
declare -A pkg=([podman]=podman [runc]=runc [debootstrap]=debootstrap [busybox]=busybox-static
	[catatonit]=catatonit [tini-static]=tini [gosu]=gosu)
missing=()
for cmd in "${!pkg[@]}"; do
	command -v "$cmd" >/dev/null || missing+=("${pkg[$cmd]}")
done
if ((${#missing[@]})); then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
		apt-get update -qq >/dev/null 2>&1
		apt-get install -y -qq "${missing[@]}" >/dev/null
	}
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/niod-container-bench.XXXXXX")
cleanup() {
	local ids
	ids=$(podman ps -a -q --filter "label=$label" 2>/dev/null || true)
	[[ -z $ids ]] || podman rm -f -t 0 $ids >/dev/null 2>&1 || true
	for tag in niod tini scratch; do
		podman rmi "localhost/niod-bench:$tag" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The engine, as test/container sets it up: runc, ulimits this shell can
# grant, the storage in the cache (one user at a time: the lock).
mkdir -p "$cache"
exec 9<"$cache"
flock 9
nofile=$(ulimit -Hn)
[[ $nofile == unlimited || $nofile -gt 1024 ]] && nofile=1024
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 4096 ]] && nproc=4096
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
tmp_dir = "/run/niod-test/libpod"
events_logger = "none"
[network]
network_config_dir = "/run/niod-test/networks"
EOF
cat >"$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$cache/storage"
runroot = "/run/niod-test/storage"
EOF
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
quiet() { "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }

# ---------------------------------------------------------------- niod
if [[ $# -ge 1 ]]; then
	niod=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
	go=$(command -v go || echo /usr/local/go/bin/go)
	echo "building niod from $repo"
	(cd "$repo" && CGO_ENABLED=0 "$go" build -trimpath -ldflags '-s -w' -o "$work/niod" ./cmd/niod)
	niod=$work/niod
fi
if command -v file >/dev/null && ! file -L "$niod" | grep -q 'statically linked'; then
	echo "$niod is not a static binary (build it with CGO_ENABLED=0: make build)" >&2
	exit 1
fi

# ---------------------------------------------------------------- images
base=localhost/debian-python:bookworm
if ! podman image exists "$base"; then
	mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	mirror=${mirror:-http://deb.debian.org/debian}
	echo "building $base with debootstrap from $mirror (once)"
	debootstrap --variant=minbase --include=python3,python3-venv bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
		tail -20 "$work/debootstrap.log" >&2
		exit 1
	}
	rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin "$work"/rootfs/var/cache/apt/archives/*.deb
	tar -C "$work/rootfs" --numeric-owner -c . | podman import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/bash"]' - "$base" >/dev/null
	rm -rf "$work/rootfs"
fi

ctx=$work/context
mkdir -p "$ctx/bin" "$ctx/examples/project" "$ctx/examples/runtime"
cp "$niod" "$ctx/bin/niod"
cp "$repo/examples/project/nio.conf" "$repo/examples/project/secrets.conf.example" "$ctx/examples/project/"
cp "$repo/examples/runtime/nio_runtime.py" "$ctx/examples/runtime/"
echo "building the images"
quiet podman build -q --format docker --network none -f "$repo/deploy/docker/Dockerfile" \
	--ignorefile "$repo/deploy/docker/Dockerfile.dockerignore" --target prebuilt \
	--build-arg "PYTHON_IMAGE=$base" -t localhost/niod-bench:niod "$ctx" >/dev/null

# tini + gosu: Debian's packages, installed into the niod image (downloaded
# on the host, so the build needs no network).
mkdir -p "$work/tini/debs"
(cd "$work/tini/debs" && apt-get download tini gosu >/dev/null 2>&1) || {
	apt-get update -qq >/dev/null 2>&1
	(cd "$work/tini/debs" && apt-get download tini gosu >/dev/null)
}
cat >"$work/tini/Containerfile" <<'EOF'
FROM localhost/niod-bench:niod
COPY debs/ /tmp/debs/
RUN dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs
ENTRYPOINT ["tini", "--", "gosu", "nio"]
CMD ["/nio/venv/bin/python3", "-m", "nio_runtime"]
EOF
quiet podman build -q --format docker --network none -t localhost/niod-bench:tini "$work/tini" >/dev/null

# FROM scratch: static niod and busybox, a user, a project whose runtime
# is busybox's sleep.
s=$work/scratch
mkdir -p "$s/bin" "$s/etc" "$s/nio/project" "$s/tmp" "$s/run"
cp "$niod" "$s/bin/niod"
cp /bin/busybox "$s/bin/busybox"
for l in sh sleep ps id kill cat ls; do ln -s busybox "$s/bin/$l"; done
printf 'root:x:0:0:root:/:/bin/sh\nnio:x:999:999:nio:/nio:/bin/sh\n' >"$s/etc/passwd"
printf 'root:x:0:\nnio:x:999:\n' >"$s/etc/group"
cat >"$s/nio/project/nio.conf" <<'EOF'
[niod]
command = sleep 2147483647
health_url = none
ready = exec
EOF
chmod 1777 "$s/tmp"
cat >"$s/Containerfile" <<'EOF'
FROM scratch
COPY . /
ENV PATH=/bin NIOD_ROOT=/nio/project
ENTRYPOINT ["/bin/niod"]
CMD ["run", "--user", "nio"]
HEALTHCHECK --interval=10s --timeout=5s CMD ["/bin/niod", "status", "--live"]
EOF
quiet podman build -q --format docker --network none -t localhost/niod-bench:scratch "$s" >/dev/null

# ---------------------------------------------------------------- measures
secrets=$work/secrets.conf
printf '[user_defined]\nADMIN_PASSWORD = bench-%s\nPK_TOKEN = bench-%s\n' "$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')" "$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')" >"$secrets"
chmod 600 "$secrets"
# The settings niod would hand over, for the runtime that runs without it.
"$niod" config -r "$ctx/examples/project" -s nio.conf -s "$secrets" --reveal --allow-root 2>/dev/null |
	sed '/^\[niod\]/,$d' >"$work/settings.ini"
chmod 644 "$work/settings.ini"

now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
# wait_log NAME TEXT: until the container's log holds TEXT; prints the time.
wait_log() {
	local i
	for ((i = 0; i < 3000; i++)); do
		if podman logs "$1" 2>&1 | grep -qF -- "$2"; then
			now
			return
		fi
		sleep 0.02
	done
	echo "timeout waiting for '$2' in $1" >&2
	podman logs "$1" >&2
	return 1
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

declare -A results
measure() { # measure KIND: runs the kind once, appends its figures
	local kind=$1 name t0 t1 t2 t3 t4 code
	name=$label-$kind-$RANDOM
	local common=(-d --name "$name" --label "$label=1" --network none --health-interval disable)
	t0=$(now)
	case $kind in
	niod)
		quiet podman run "${common[@]}" -v "$secrets:/run/secrets/secrets.conf:ro" localhost/niod-bench:niod >/dev/null
		t1=$(wait_log "$name" "listening on")
		t2=$(wait_log "$name" '"msg":"runtime ready"')
		results[niod_ready]+="$(ms "$t0" "$t2") "
		;;
	tini)
		quiet podman run "${common[@]}" -v "$work/settings.ini:/nio/settings.ini:ro" -e NIO_SETTINGS=/nio/settings.ini \
			localhost/niod-bench:tini >/dev/null
		t1=$(wait_log "$name" "listening on")
		;;
	scratch)
		quiet podman run "${common[@]}" localhost/niod-bench:scratch >/dev/null
		t1=$(wait_log "$name" '"msg":"runtime ready"')
		;;
	esac
	results[${kind}_listen]+="$(ms "$t0" "$t1") "
	sleep 0.5 # workers up
	t3=$(now)
	quiet podman stop -t 30 "$name" >/dev/null
	t4=$(now)
	code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
	results[${kind}_stop]+="$(ms "$t3" "$t4") "
	results[${kind}_code]=$code
	podman rm -f -t 0 "$name" >/dev/null 2>&1
}

echo "measuring ($runs runs each, interleaved)"
for ((r = 0; r < runs; r++)); do
	for kind in niod tini scratch; do measure "$kind"; done
done

med() { tr ' ' '\n' <<<"${results[$1]}" | grep . | median; }
size() { podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.1f MB", $1 / 1e6}'; }

cat <<EOF

Containers under rootful podman $(podman --version | awk '{print $3}') with runc, --network none;
medians of $runs runs, milliseconds (a run: podman run -d, wait, podman stop).

| | niod as PID 1 | tini + gosu | niod FROM scratch |
|---|---|---|---|
| runtime | nio_runtime.py (2 workers) | nio_runtime.py (2 workers) | busybox sleep |
| podman stop → container exited | $(med niod_stop) | $(med tini_stop) | $(med scratch_stop) |
| exit code after podman stop | ${results[niod_code]} | ${results[tini_code]} | ${results[scratch_code]} |
| podman run → runtime listening | $(med niod_listen) | $(med tini_listen) | – |
| podman run → niod: "runtime ready" | $(med niod_ready) | – (no readiness) | $(med scratch_listen) |
| image size | $(size localhost/niod-bench:niod) | $(size localhost/niod-bench:tini) | $(size localhost/niod-bench:scratch) |
| Python base alone | $(size "$base") | | |
EOF
