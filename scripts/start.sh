#!/usr/bin/env bash
# `npm start`: installs and builds whatever is missing (quietly), then runs berthd in the
# foreground on its default socket. Arguments go to berthd: `npm start -- --data-root DIR`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "npm start: run as root (berthd makes namespaces, mounts and cgroups)" >&2
  exit 1
fi
bash scripts/setup.sh --quiet

socket=/run/berth/berth.sock
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    --socket) socket=${args[$((i + 1))]:-$socket} ;;
    --socket=*) socket=${args[$i]#--socket=} ;;
  esac
done

cat <<MSG
berthd is starting on $socket. In another shell, point the docker CLI at it:

  export DOCKER_HOST=unix://$socket
  docker load -i $PWD/tests/fixtures/images/busybox-oci.tar   # the test image
  docker run --rm berth.test/busybox echo hello

Ctrl-C stops berthd and its containers.
MSG
exec node runtime-agent/bin/berthd.js "$@"
