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
if [[ ! -x $root/venv/bin/python ]]; then
	echo "creating the runtime's virtual environment: python3 -m venv $root/venv"
	python3 -m venv --without-pip "$root/venv"
fi

"$niod" check -r "$root" -s nio.conf -s secrets.conf

cat <<EOT

niod is starting the runtime (pid of niod: $$). In another terminal, try:
  curl -u admin:change-me http://127.0.0.1:8181/nio      # 200 with auth
  curl http://127.0.0.1:8181/nio                         # 401 without
  kill -USR1 $$                                          # forwarded to the runtime
  kill -HUP $$                                           # reload the settings
  $niod config -r $root -s nio.conf -s secrets.conf --show-origin
Ctrl-C (or kill $$) stops the runtime and all its workers.

EOT
exec "$niod" -r "$root" -s nio.conf -s secrets.conf --log-format console
