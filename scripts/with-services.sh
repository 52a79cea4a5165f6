#!/usr/bin/env bash
# Starts the real servers the scale tests need (each scripts/services/*.sh), once per run, runs the given command
# with their addresses in the environment, and stops them again whatever the command's outcome.
# Contract for a service script: `NAME.sh start DIR` starts the server with its state under DIR and prints
# `export VAR=value` lines on stdout (logs go to stderr or DIR); `NAME.sh stop DIR` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
state=$(mktemp -d /tmp/wharf-services.XXXXXX)
started=()
stop_all() {
  for name in "${started[@]}"; do bash "scripts/services/$name.sh" stop "$state/$name" >&2 || true; done
  rm -rf "$state"
}
trap stop_all EXIT
for script in scripts/services/*.sh; do
  [ -e "$script" ] || continue
  name=$(basename "$script" .sh)
  mkdir -p "$state/$name"
  echo "with-services: starting $name" >&2
  exports=$(bash "$script" start "$state/$name")
  started+=("$name")
  eval "$exports"
done
"$@"
