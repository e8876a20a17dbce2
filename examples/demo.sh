#!/usr/bin/env bash
# Runs niod on examples/project, supervising the reference runtime in a
# virtual environment of its own. Ctrl-C stops everything.
set -euo pipefail
niod=$(realpath "${1:-bin/niod}")
root=$(cd "$(dirname "$0")/project" && pwd)

if [[ ! -e $root/secrets.conf ]]; then
	install -m 600 "$root/secrets.conf.example" "$root/secrets.conf"
	echo "created $root/secrets.conf (mode 600) from secrets.conf.example"
fi
if [[ ! -x $root/venv/bin/pip ]]; then
	echo "creating the runtime's virtual environment: python3 -m venv $root/venv"
	python3 -m venv --clear "$root/venv"
fi
# pre_start (nio.conf) installs the blocks' requirements from wheels/ into
# deps/; this .pth puts deps/ on the venv's path.
site=$("$root/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo "$root/deps" >"$site/nio-project-deps.pth"
python3 "$root/make_wheels.py" "$root" >/dev/null

if [[ ! -e $root/etc/ssl/cert.crt ]]; then
	# A local CA kept with the demo, and a certificate for this machine;
	# tls.conf gets the [user_defined] SSL_* lines.
	"$niod" cert -r "$root" --ca-dir "$root/etc/ca" --update-settings tls.conf >/dev/null
	echo "made a certificate with niod cert: $root/etc/ssl (CA in $root/etc/ca)"
fi
settings=(-s nio.conf -s tls.conf -s secrets.conf)
if [[ $(id -u) -eq 0 ]]; then
	# A real deployment gives niod a user to drop to (--user nio); the demo
	# makes none, and says so.
	settings+=(--allow-root)
fi
"$niod" check -r "$root" "${settings[@]}"

cat <<EOT

niod is starting the runtime (pid of niod: $$). In another terminal, try:
  curl --cacert $root/etc/ssl/ca.crt -u admin:change-me https://localhost:8181/nio   # 200
  curl --cacert $root/etc/ssl/ca.crt https://localhost:8181/nio                      # 401
  kill -USR1 $$                                          # forwarded to the runtime
  kill -HUP $$                                           # reload the settings
  $niod config -r $root ${settings[*]} --show-origin
Ctrl-C (or kill $$) stops the runtime and all its workers.

EOT
exec "$niod" -r "$root" "${settings[@]}" --log-format console
