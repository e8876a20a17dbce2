#!/usr/bin/env bash
# build-deb.sh - the niod Debian package, built from bin/niod with dpkg-deb.
#
# dpkg-deb rather than nfpm: it is dpkg's own builder, on every Debian and
# Ubuntu host already (nothing to download or pin), and with
# --root-owner-group, SOURCE_DATE_EPOCH (mtimes clamped, ar dates) and one
# compressor thread the same tree gives the same bytes. A binary package
# needs no more than a staged tree and a control file; nfpm would add a Go
# tool and a YAML description of the same tree.
#
# Usage: packaging/build-deb.sh [--bin bin/niod] [--out dist]
#   (make deb runs it after make build)
#
# Environment:
#   SOURCE_DATE_EPOCH   timestamps inside the package (default: HEAD's commit time)
#   DEB_VERSION         package version (default: from git describe, see deb_version)
#   DEB_MAINTAINER      "Name <address>" (default: HEAD's author)
#
# The man page and the shell completions come from the binary itself
# (niod help --man, niod completion bash|zsh), so they always match it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=$root/bin/niod
out=$root/dist

die() {
	printf 'build-deb: %s\n' "$*" >&2
	exit 1
}

while (($#)); do
	case $1 in
	--bin) bin=${2:?--bin needs a path} && shift 2 ;;
	--out) out=${2:?--out needs a directory} && shift 2 ;;
	*) die "unknown argument $1 (usage: $0 [--bin FILE] [--out DIR])" ;;
	esac
done
[[ -x $bin ]] || die "$bin: no such executable (make build)"
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"

git_() { git -C "$root" "$@" 2>/dev/null; }

# deb_version maps git describe to a Debian version, revision 1:
#   tag v1.2.3                 1.2.3-1
#   5 commits after v1.2.3     1.2.3+git5.gabc1234-1
#   no tag                     0.0~git20261201.142522.gabc1234-1 (commit time, UTC)
#   uncommitted changes        +dirty appended to the upstream part
# "~" sorts before anything, so every tagged release is newer than the
# untagged builds before it; the commit time orders untagged builds.
deb_version() {
	local desc up n hash dirty=""
	desc=$(git_ describe --tags --long --dirty --match 'v[0-9]*') || desc=""
	if [[ $desc == *-dirty ]]; then
		dirty=+dirty
		desc=${desc%-dirty}
	fi
	if [[ $desc =~ ^v([0-9][A-Za-z0-9.~+-]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
		# A tag's own "-" (v1.2.3-rc1) would read as a Debian revision.
		up=${BASH_REMATCH[1]//-/\~} n=${BASH_REMATCH[2]} hash=${BASH_REMATCH[3]}
		((n == 0)) || up+="+git$n.g$hash"
	else
		hash=$(git_ rev-parse --short=7 HEAD) || die "no git history to take a version from: set DEB_VERSION"
		[[ -n $(git_ status --porcelain --untracked-files=no) ]] && dirty=+dirty
		up="0.0~git$(TZ=UTC git_ log -1 --date=format-local:%Y%m%d.%H%M%S --format=%cd HEAD).g$hash"
	fi
	echo "$up$dirty-1"
}

# deb_arch reads the architecture from the binary's ELF header (e_machine,
# EI_DATA), so a GOARCH=arm64 build is packaged as arm64.
deb_arch() {
	local machine data
	[[ $(head -c 4 "$bin" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] || die "$bin is not an ELF binary"
	data=$(od -An -tu1 -j5 -N1 "$bin" | tr -d ' ')
	machine=$(od -An -tu2 -j18 -N2 --endian="$( ((data == 1)) && echo little || echo big)" "$bin" | tr -d ' ')
	case $machine in
	62) echo amd64 ;;
	183) echo arm64 ;;
	3) echo i386 ;;
	40) echo armhf ;;
	243) echo riscv64 ;;
	21) ((data == 1)) && echo ppc64el || echo ppc64 ;;
	22) echo s390x ;;
	*) die "$bin: unknown ELF machine $machine (add it to deb_arch)" ;;
	esac
}

version=${DEB_VERSION:-$(deb_version)}
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$ ]] || die "not a Debian version: $version"
arch=$(deb_arch)
maintainer=${DEB_MAINTAINER:-$(git_ log -1 --format='%an <%ae>' HEAD || true)}
[[ $maintainer =~ ^[^\<]+\ \<[^@\>]+@[^\>]+\>$ ]] || die "DEB_MAINTAINER must be \"Name <address>\", got \"$maintainer\""
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(git_ log -1 --format=%ct HEAD) || die "no git history: set SOURCE_DATE_EPOCH"
fi
export SOURCE_DATE_EPOCH
commit=$(git_ rev-parse HEAD || echo unknown)

# A static binary depends on nothing; a dynamic one would need Depends.
if command -v readelf >/dev/null && readelf -l "$bin" 2>/dev/null | grep -q 'Requesting program interpreter'; then
	die "$bin is dynamically linked: build it with CGO_ENABLED=0 (make build)"
fi

stage=$(mktemp -d /tmp/niod-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
umask 022
pkg=$stage/root
mkdir -p "$pkg/DEBIAN"

# gen FILE WHAT CHECK ARG...: FILE is what `niod ARG...` prints; CHECK is an
# extended regular expression its output must match, else the binary does
# not have the command (yet) and the build stops.
gen() {
	local file=$1 what=$2 check=$3
	shift 3
	local rc=0
	"$bin" "$@" >"$file" 2>"$stage/err" || rc=$?
	((rc == 0)) || die "\`niod $*\` failed (exit $rc): $bin has no $what; build one that has it. It said: $(head -c 300 "$stage/err")"
	[[ -s $file ]] || die "$bin $* printed nothing: no $what"
	grep -Eq "$check" "$file" || die "$bin $* does not print $what (no line matching '$check'): $(head -c 200 "$file")"
}
gen "$stage/niod.1" "niod(1) in roff" '^\.TH[[:space:]]' help --man
gen "$stage/niod.bash" "bash completion" '^[[:space:]]*complete[[:space:]].*niod' completion bash
gen "$stage/_niod" "zsh completion" '^#compdef[[:space:]].*niod' completion zsh
bash -n "$stage/niod.bash" || die "niod completion bash: not valid bash"

put() { # put MODE SRC DST
	install -D -m "$1" "$2" "$pkg$3"
}
put 755 "$bin" /usr/bin/niod

# The units as deploy/systemd has them, with niod in /usr/bin, the man
# page the package ships as Documentation= (systemctl help niod) and a
# note on where the package differs from the plain install.
unit() { # unit NAME NOTE
	local src=$root/deploy/systemd/$1 dst=$stage/$1
	awk -v note="$2" 'NR == 1 { print; print "#"; n = split(note, l, "\n"); for (i = 1; i <= n; i++) print "# " l[i]; next }
		/^ExecStart=\/usr\/local\/bin\/niod / { sub(/^ExecStart=\/usr\/local\/bin\/niod /, "ExecStart=/usr/bin/niod ") }
		{ print }
		/^Description=/ && !doc { print "Documentation=man:niod(1)"; doc = 1 }' "$src" >"$dst"
	[[ $(grep -c '^ExecStart=/usr/bin/niod ' "$dst") == 1 ]] || die "$src: no ExecStart=/usr/local/bin/niod line to point at /usr/bin/niod"
	! grep -q '^[^#]*/usr/local/' "$dst" || die "$src: a setting still names /usr/local: $(grep '^[^#]*/usr/local/' "$dst")"
	put 644 "$dst" "/usr/lib/systemd/system/$1"
}
unit niod.service "Packaged: niod is /usr/bin/niod, and the package made the user nio,
/etc/nio and /opt/nio/project (sysusers.d, tmpfiles.d): of the steps
below, the project, secrets.conf and systemctl enable --now niod remain.
This file is replaced on upgrade: change it with systemctl edit niod."
unit niod@.service "Packaged: niod is /usr/bin/niod. This file is replaced on upgrade:
change it with a drop-in (systemctl edit niod@NAME)."

put 644 "$here/niod.sysusers" /usr/lib/sysusers.d/niod.conf
put 644 "$here/niod.tmpfiles" /usr/lib/tmpfiles.d/niod.conf
gzip -9n <"$stage/niod.1" >"$stage/niod.1.gz"
put 644 "$stage/niod.1.gz" /usr/share/man/man1/niod.1.gz
put 644 "$stage/niod.bash" /usr/share/bash-completion/completions/niod
put 644 "$stage/_niod" /usr/share/zsh/vendor-completions/_niod
# The years of the git history, for the copyright notice.
first=$(git_ log --reverse --date=format-local:%Y --format=%cd HEAD | head -1) || first=""
last=$(TZ=UTC date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
years=${first:-$last}
[[ $years == "$last" ]] || years+="-$last"
sed "s/@YEARS@/$years/" "$here/copyright" >"$stage/copyright"
put 644 "$stage/copyright" /usr/share/doc/niod/copyright
put 644 "$here/lintian-overrides" /usr/share/lintian/overrides/niod

{
	printf 'niod (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from git commit\n    %s%s.\n\n' "$commit" "$([[ $version == *+dirty* ]] && echo ' with uncommitted changes')"
	printf ' -- %s  %s\n' "$maintainer" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$stage/changelog.Debian.gz"
put 644 "$stage/changelog.Debian.gz" /usr/share/doc/niod/changelog.Debian.gz

for s in postinst prerm postrm; do
	put 755 "$here/$s" "/DEBIAN/$s"
done
(cd "$pkg" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$pkg/DEBIAN/md5sums"
chmod 644 "$pkg/DEBIAN/md5sums"

# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up,
# and 1 for every directory.
size=$(cd "$pkg" && find usr -printf '%y %s\n' | awk '$1 == "f" { s += int(($2 + 1023) / 1024); next } { s++ } END { print s }')
cat >"$pkg/DEBIAN/control" <<EOF
Package: niod
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Recommends: systemd
Section: admin
Priority: optional
Description: launcher and supervisor of the nio runtime
 niod starts a nio project's runtime and keeps it up: it merges the
 project's settings files, hands them to the runtime without leaking
 secrets, drops root, restarts the runtime when it exits or stops
 answering its health probe, and stops its whole process tree.
 .
 Under systemd it tells the service manager when the runtime is ready,
 reloading or stopping (Type=notify, watchdog). The package ships
 niod.service, for one project in /opt/nio/project run as the system user
 nio with its secrets in /etc/nio, and niod@.service for several projects;
 it creates the user and the directories and starts nothing.
EOF

# Everything root's, every mtime the same: the package's bytes depend
# only on what goes in.
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
deb=$out/niod_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --threads-max=1 --build "$pkg" "$deb" >/dev/null
echo "$deb"
