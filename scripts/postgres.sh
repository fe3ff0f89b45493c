#!/usr/bin/env bash
# Installs the PostgreSQL server binaries the clinic tests start themselves (initdb in a
# temporary folder, pg_ctl on a loopback port; no containers, no system service).
# As root on Debian/Ubuntu: apt-get. Otherwise it only says what is missing: the clinic
# tests then skip, each with a message saying so.
set -euo pipefail
found() {
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
if found; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "postgres: installing the PostgreSQL server from the system's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  found && exit 0
fi
echo "postgres: no PostgreSQL server binaries (initdb); the clinic tests will be skipped" \
     "(as root: apt-get install postgresql)" >&2
