#!/usr/bin/env bash
# harness.sh - boot a real systemd (PID 1 of a systemd-nspawn container) to
# test niod's unit file against it: Type=notify, WatchdogSec=,
# LoadCredential=, ExecReload=, RestartPreventExitStatus=, the sandboxing.
#
# The container is "volatile": systemd-nspawn -D / --volatile=yes boots the
# host's own /usr read-only on an empty tmpfs root, so nothing is
# downloaded and a boot takes about 1.5 s. systemd populates /etc from /usr
# (sysusers, tmpfiles); whatever a test needs (a user, a project, a unit) it
# puts into the tmpfs with `exec` and `cp`, and everything is gone when the
# container stops. It boots into basic.target (an empty /etc is a first
# boot: multi-user.target would start every service the host's presets
# enable), with network-online waits and apt/dpkg timers masked. It has its
# own network namespace (only lo), so its ports never clash with the host's.
#
# Commands get into the container with nsenter: machinectl and
# systemd-run -M need the container registered with systemd-machined, which
# a host without systemd as PID 1 does not run (--register=no).
#
# Example:
#   harness.sh up --bind-ro "$PWD/bin:/usr/local/bin"
#   harness.sh exec useradd --system --user-group nio
#   harness.sh cp deploy/systemd/niod.service /etc/systemd/system/niod.service 644
#   harness.sh exec systemctl daemon-reload
#   harness.sh exec systemctl start niod
#   harness.sh exec journalctl -u niod
#   harness.sh down
#
# Usage (as root):
#   harness.sh deps                      install what is missing (systemd-container;
#                                        apt-get update first)
#   harness.sh check                     say what is missing to run (exit 2), nothing else
#   harness.sh up [--bind-ro SRC:DST]... [--bind SRC:DST]...
#                                        boot the container (binds are made at boot)
#   harness.sh exec CMD [ARG...]         run CMD inside the container, stdin/stdout/stderr
#                                        passed through, exit code returned
#   harness.sh cp SRC DST [MODE [OWNER[:GROUP]]]
#                                        copy a host file into the container's filesystem
#   harness.sh pid                       print the container's PID 1 as a host pid
#   harness.sh status                    print whether the container runs
#   harness.sh down                      power off and remove everything `up` created:
#                                        processes, cgroups, directories, the state directory
#
# Environment:
#   NIOH_MACHINE=niod-systemd-test   container (machine) name; one container per name
#   NIOH_DIR=/run/niod-harness/$NIOH_MACHINE   state directory (pids, logs, what to clean up)
#   NIOH_BOOT_TIMEOUT=60             seconds to wait for the container to finish booting
#   NIOH_DEBUG=1                     PID 1 logs at debug level (needed to see its
#                                    "Got notification message" lines in the journal)
#
# Commands run with `exec` get a clean environment (PATH, LANG, TERM) and are
# in all of the container's namespaces (nsenter --all into its PID 1); they
# stay in the caller's cgroup, so do not leave anything running with it:
# start long-lived things as units (systemctl, systemd-run).
#
# Tested on a host without systemd as PID 1 (hybrid cgroups, systemd 252);
# on a host with systemd, nspawn runs in a transient unit with Delegate=yes.
#
# Cleanup: `down` asks the container's systemd to power off (SIGRTMIN+3 via
# nspawn), kills what is left after 30 s, removes the cgroups it made
# (a host without systemd as PID 1) or stops the transient unit that held
# the container (a host with systemd), and removes the directories nspawn
# left in /run/systemd when they did not exist before. Mounts live in
# nspawn's own mount namespace and vanish with it; `down` checks that none
# is left in the host's.
set -euo pipefail

NIOH_MACHINE=${NIOH_MACHINE:-niod-systemd-test}
NIOH_DIR=${NIOH_DIR:-/run/niod-harness/$NIOH_MACHINE}
NIOH_BOOT_TIMEOUT=${NIOH_BOOT_TIMEOUT:-60}
NIOH_DEBUG=${NIOH_DEBUG:-1}
CGROUP_NAME=niod-harness-$NIOH_MACHINE
UNIT_NAME=niod-harness-$NIOH_MACHINE.service
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'harness[%s] %s\n' "$NIOH_MACHINE" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

case $NIOH_MACHINE in
*[!A-Za-z0-9-]* | -* | "") die "NIOH_MACHINE must be letters, digits and dashes: '$NIOH_MACHINE'" ;;
esac

# --------------------------------------------------------------- host facts

host_has_systemd() { [[ -d /run/systemd/system && $(cat /proc/1/comm 2>/dev/null) == systemd ]]; }

# The cgroup hierarchies systemd-nspawn uses: cgroup2 alone, or (hybrid)
# the unified cgroup2 and the name=systemd v1 hierarchy.
cgroup_roots() {
	if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
		echo /sys/fs/cgroup
		return 0
	fi
	if [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
		echo /sys/fs/cgroup/unified
	fi
	if [[ -d /sys/fs/cgroup/systemd && $(stat -f -c %T /sys/fs/cgroup/systemd) == cgroupfs ]]; then
		echo /sys/fs/cgroup/systemd
	fi
	return 0
}

# missing prints one line per thing that stops the harness from running.
missing() {
	[[ $(id -u) == 0 ]] || echo "not root (systemd-nspawn needs root)"
	command -v systemd-nspawn >/dev/null || echo "systemd-nspawn is missing (apt-get install systemd-container, or: $0 deps)"
	command -v nsenter >/dev/null || echo "nsenter is missing (apt-get install util-linux)"
	[[ -x /usr/lib/systemd/systemd ]] || echo "/usr/lib/systemd/systemd is missing (apt-get install systemd)"
	[[ -n $(cgroup_roots) ]] || echo "no cgroup hierarchy that systemd can use is mounted at /sys/fs/cgroup"
	return 0
}

cmd_check() {
	local m
	m=$(missing)
	if [[ -n $m ]]; then
		printf '%s\n' "$m"
		return 2
	fi
}

cmd_deps() {
	[[ $(id -u) == 0 ]] || die "must run as root"
	local need=()
	command -v systemd-nspawn >/dev/null || need+=(systemd-container)
	command -v nsenter >/dev/null || need+=(util-linux)
	[[ -x /usr/lib/systemd/systemd ]] || need+=(systemd)
	((${#need[@]})) || return 0
	command -v apt-get >/dev/null || die "missing ${need[*]} and no apt-get to install them"
	log "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# --------------------------------------------------------------- state

state() { cat "$NIOH_DIR/$1" 2>/dev/null || true; }
nspawn_pid() { state nspawn.pid; }
leader_pid() { state leader.pid; }

# starttime PID: when PID started (field 22 of /proc/PID/stat), to tell it
# from a later process that got the same pid.
starttime() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	# shellcheck disable=SC2086
	set -- $st
	echo "${20}"
}

# alive NAME: the process noted as NAME.pid (with NAME.start) still runs.
alive() {
	local pid
	pid=$(state "$1.pid")
	[[ -n $pid && -n $(state "$1.start") && $(starttime "$pid") == "$(state "$1.start")" ]]
}

# note NAME PID: remember PID as NAME.
note() {
	echo "$2" >"$NIOH_DIR/$1.pid"
	starttime "$2" >"$NIOH_DIR/$1.start"
}

is_up() { alive leader && [[ $(cat "/proc/$(leader_pid)/comm" 2>/dev/null) == systemd ]]; }

# created PATH: note that `up` made PATH, so `down` removes it.
created() { echo "$1" >>"$NIOH_DIR/created"; }

# --------------------------------------------------------------- up

cmd_up() {
	local binds=()
	while (($#)); do
		case $1 in
		--bind-ro | --bind)
			(($# >= 2)) || die "$1 needs SRC:DST"
			[[ -e ${2%%:*} ]] || die "$1 $2: no such file or directory: ${2%%:*}"
			binds+=("$1=$2")
			shift 2
			;;
		*) die "up: unknown argument $1" ;;
		esac
	done
	if is_up; then
		log "already up (PID 1 = host pid $(leader_pid))"
		return 0
	fi
	local m
	m=$(missing)
	[[ -z $m ]] || die "cannot boot: $m"
	# A previous run that died half-way: clean up after it first.
	[[ -d $NIOH_DIR ]] && cmd_down
	mkdir -p -m 0700 "$NIOH_DIR"
	: >"$NIOH_DIR/created"
	# Directories nspawn makes in the host's /run and does not remove.
	local d
	for d in /run/systemd /run/systemd/nspawn /run/systemd/nspawn/propagate \
		"/run/systemd/nspawn/propagate/$NIOH_MACHINE" /run/systemd/nspawn-root; do
		[[ -e $d ]] || created "$d"
	done

	local args=(
		--quiet
		--machine="$NIOH_MACHINE"
		--directory=/ --volatile=yes
		--register=no --keep-unit
		--private-network
		--console=read-only
		--kill-signal=SIGRTMIN+3
		"${binds[@]}"
		# Everything after --boot goes to the container's systemd as its
		# kernel command line. basic.target, not multi-user.target: an empty
		# /etc is a first boot, so every service of the host's /usr that its
		# preset enables would start (and some fail). Masked: what would
		# hold network-online.target back for minutes (no network to wait
		# for) and timers that would run apt or dpkg.
		--boot -- systemd.unit=basic.target systemd.firstboot=off
	)
	local u
	for u in systemd-networkd-wait-online.service NetworkManager-wait-online.service \
		apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
		man-db.timer fstrim.timer logrotate.timer; do
		args+=("systemd.mask=$u")
	done
	log "booting: systemd-nspawn ${args[*]}"
	local t0=$EPOCHREALTIME np="" i
	if host_has_systemd; then
		# systemd owns the cgroups: give nspawn a delegated unit of its own,
		# as systemd-nspawn@.service does.
		systemd-run --quiet --unit="$UNIT_NAME" --collect -p Delegate=yes -p KillMode=mixed \
			-p StandardOutput="file:$NIOH_DIR/nspawn.log" -p StandardError="file:$NIOH_DIR/nspawn.log" \
			systemd-nspawn "${args[@]}"
		echo "$UNIT_NAME" >"$NIOH_DIR/unit"
		for ((i = 0; i < 50; i++)); do
			np=$(systemctl show -P MainPID "$UNIT_NAME" 2>/dev/null || echo 0)
			[[ ${np:-0} != 0 ]] && break
			sleep 0.1
		done
	else
		# No systemd on the host: nspawn sets up the container's cgroups
		# below its own. Give it cgroups of our own, so that nothing lands at
		# the root of a hierarchy and everything can be removed afterwards.
		local cg
		for cg in $(cgroup_roots); do
			if [[ ! -d $cg/$CGROUP_NAME ]]; then
				mkdir "$cg/$CGROUP_NAME"
				created "$cg/$CGROUP_NAME"
			fi
		done
		(
			for cg in $(cgroup_roots); do echo "$BASHPID" >"$cg/$CGROUP_NAME/cgroup.procs"; done
			exec setsid systemd-nspawn "${args[@]}" </dev/null >"$NIOH_DIR/nspawn.log" 2>&1
		) &
		np=$!
	fi
	[[ ${np:-0} != 0 ]] || die "systemd-nspawn did not start: $(cat "$NIOH_DIR/nspawn.log" 2>/dev/null)"
	note nspawn "$np"

	# The container's PID 1 is nspawn's child.
	local lp=""
	for ((i = 0; i < 200; i++)); do
		# (Not by name: it may not have exec'd nspawn yet.)
		kill -0 "$np" 2>/dev/null || die "systemd-nspawn exited: $(tail -20 "$NIOH_DIR/nspawn.log" 2>/dev/null)"
		[[ $(cat "/proc/$np/comm" 2>/dev/null) == systemd-nspawn ]] || {
			sleep 0.05
			continue
		}
		lp=$(awk '{print $1}' "/proc/$np/task/$np/children" 2>/dev/null || true)
		[[ -n $lp && $(cat "/proc/$lp/comm" 2>/dev/null) == systemd ]] && break
		lp=""
		sleep 0.05
	done
	[[ -n $lp ]] || die "no PID 1 in the container after 10 s: $(tail -5 "$NIOH_DIR/nspawn.log")"
	note leader "$lp"

	local st=""
	for ((i = 0; i < NIOH_BOOT_TIMEOUT * 10; i++)); do
		st=$(timeout 5 nsenter --target "$lp" --all -- env -i PATH="$CT_PATH" systemctl is-system-running 2>/dev/null || true)
		case $st in running | degraded) break ;; esac
		alive leader || die "the container died while booting: $(tail -30 "$NIOH_DIR/nspawn.log" 2>/dev/null)"
		sleep 0.1
	done
	case $st in
	running | degraded) ;;
	*)
		tail -30 "$NIOH_DIR/nspawn.log" >&2 || true
		die "boot did not finish in ${NIOH_BOOT_TIMEOUT}s (state '$st')"
		;;
	esac
	if [[ $NIOH_DEBUG == 1 ]]; then
		in_ct systemd-analyze log-level debug
	fi
	log "up in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')s: state $st, nspawn pid $np, PID 1 = host pid $lp"
}

# --------------------------------------------------------------- use

in_ct() {
	is_up || die "the container is not running (harness.sh up)"
	nsenter --target "$(leader_pid)" --all -- env -i PATH="$CT_PATH" LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

cmd_cp() {
	(($# >= 2 && $# <= 4)) || die "usage: cp SRC DST [MODE [OWNER[:GROUP]]]"
	local src=$1 dst=$2 mode=${3:-} owner=${4:-}
	[[ $dst == /* ]] || die "cp: DST must be an absolute path in the container: $dst"
	[[ -f $src ]] || die "cp: not a regular file: $src"
	is_up || die "the container is not running (harness.sh up)"
	# Streamed in through stdin: the file lands in the container's tmpfs,
	# written under a temporary name and renamed once mode and owner are set.
	in_ct mkdir -p "$(dirname "$dst")"
	local tmp="$dst.harness-tmp"
	cat "$src" | in_ct sh -c 'umask 077 && cat >"$1"' sh "$tmp"
	[[ -z $mode ]] || in_ct chmod "$mode" "$tmp"
	[[ -z $owner ]] || in_ct chown "$owner" "$tmp"
	in_ct mv -f "$tmp" "$dst"
}

cmd_status() {
	if is_up; then
		echo "up: machine $NIOH_MACHINE, nspawn pid $(nspawn_pid), PID 1 = host pid $(leader_pid), state $(in_ct systemctl is-system-running || true)"
	else
		echo "down: machine $NIOH_MACHINE"
		return 1
	fi
}

# --------------------------------------------------------------- down

cmd_down() {
	[[ -d $NIOH_DIR ]] || return 0
	# nspawn turns SIGTERM into --kill-signal (SIGRTMIN+3) for the
	# container's systemd: a clean poweroff.
	if alive nspawn; then
		kill -TERM "$(nspawn_pid)" 2>/dev/null || true
		wait_gone nspawn 300 || {
			log "systemd-nspawn still running after 30 s: SIGKILL"
			alive leader && kill -KILL "$(leader_pid)" 2>/dev/null || true
			alive nspawn && kill -KILL "$(nspawn_pid)" 2>/dev/null || true
			wait_gone nspawn 50 || true
		}
	fi
	# Without nspawn (it was killed), the container's PID 1 goes on: power
	# it off directly; SIGKILL to it ends its whole PID namespace.
	if alive leader; then
		kill -s RTMIN+3 "$(leader_pid)" 2>/dev/null || true
		wait_gone leader 150 || {
			log "the container's PID 1 still running after 15 s: SIGKILL"
			alive leader && kill -KILL "$(leader_pid)" 2>/dev/null || true
			wait_gone leader 50 || true
		}
	fi
	local unit
	unit=$(state unit)
	if [[ -n $unit ]] && host_has_systemd; then
		systemctl stop "$unit" 2>/dev/null || true
		systemctl reset-failed "$unit" 2>/dev/null || true
	fi
	# What up created, newest first: cgroups (nspawn made payload/ and
	# supervisor/ below ours; anything still in them is the container's and
	# is killed) and directories in /run.
	local path left=0 i
	if [[ -f $NIOH_DIR/created ]]; then
		while read -r path; do
			[[ -e $path ]] || continue
			if [[ $path == /sys/fs/cgroup/* ]]; then
				for ((i = 0; i < 50; i++)); do
					find "$path" -depth -type d -exec rmdir {} + 2>/dev/null || true
					[[ -e $path ]] || break
					find "$path" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
					sleep 0.1
				done
				if [[ -e $path ]]; then
					log "warning: cannot remove $path: processes $(find "$path" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')"
					left=1
				fi
			else
				# Empty directories in /run; another container may still use
				# one (then it is busy and stays).
				rmdir "$path" 2>/dev/null || true
			fi
		done < <(tac "$NIOH_DIR/created")
	fi
	if grep -q -e "$NIOH_MACHINE" -e nspawn-root /proc/self/mountinfo; then
		log "warning: mounts left in the host's mount namespace:"
		grep -e "$NIOH_MACHINE" -e nspawn-root /proc/self/mountinfo >&2 || true
		left=1
	fi
	if ((left)); then
		log "state kept in $NIOH_DIR: run down again"
		return 1
	fi
	rm -rf --one-file-system "$NIOH_DIR"
	rmdir /run/niod-harness 2>/dev/null || true
}

# wait_gone NAME TENTHS: wait up to TENTHS/10 s for process NAME to end.
wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		alive "$1" || return 0
		sleep 0.1
	done
	! alive "$1"
}

# --------------------------------------------------------------- main

sub=${1:-}
shift || true
case $sub in
deps) cmd_deps ;;
check) cmd_check ;;
up)
	[[ $(id -u) == 0 ]] || die "must run as root"
	cmd_up "$@"
	;;
exec)
	(($#)) || die "usage: exec CMD [ARG...]"
	in_ct "$@"
	;;
cp) cmd_cp "$@" ;;
pid)
	is_up || die "the container is not running"
	leader_pid
	;;
status) cmd_status ;;
down) cmd_down ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2
	exit 2
	;;
esac
