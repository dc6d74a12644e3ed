#!/usr/bin/env bash
# `npm start`: installs and builds whatever is missing (quietly), makes sure berthd answers on
# its socket (uses one that already runs, else starts one in the background and stops it again
# at exit), then starts the app:
#   - Electron, when there is a display ($DISPLAY or $WAYLAND_DISPLAY) and the Electron binary
#     was installed (node_modules/electron/dist);
#   - otherwise browser mode: the same services behind a local server, whose URL (with its
#     token) is printed; open it in a browser.
# Ctrl-C stops the app and the berthd this script started. `npm run berthd` runs berthd alone.
#
#   npm start -- [--socket PATH] [--port N (browser mode)] [berthd options, e.g. --data-root DIR]
#
# BERTH_NETNS=NAME runs the berthd it starts in that network namespace (`ip netns add NAME`),
# to try Berth without berthd's bridges and nftables table on the machine's own network.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "npm start: run as root (berthd makes namespaces, mounts and cgroups)" >&2
  exit 1
fi
bash scripts/setup.sh --quiet

socket=/run/berth/berth.sock
port=
berthd_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --socket) socket=${2:?--socket needs a path}; shift 2 ;;
    --socket=*) socket=${1#--socket=}; shift ;;
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    *) berthd_args+=("$1"); shift ;;
  esac
done

ping_berthd() {
  curl -sf --max-time 2 --unix-socket "$socket" http://berthd/_ping 2>/dev/null | grep -qx OK
}

app_pid=
berthd_pid=
stop_all() {
  trap - EXIT INT TERM
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill -TERM "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
  if [ -n "$berthd_pid" ] && kill -0 "$berthd_pid" 2>/dev/null; then
    echo "npm start: stopping berthd (pid $berthd_pid)"
    kill -TERM "$berthd_pid" 2>/dev/null || true
    wait "$berthd_pid" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ping_berthd; then
  echo "npm start: using the berthd already answering on $socket"
  if [ "${#berthd_args[@]}" -gt 0 ]; then echo "npm start: (berthd options ignored: ${berthd_args[*]})" >&2; fi
else
  log_dir=/var/log/berth
  mkdir -p "$log_dir" 2>/dev/null || log_dir=/run/berth
  mkdir -p "$log_dir" "$(dirname "$socket")"
  log=$log_dir/berthd.log
  launcher=()
  # nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup hierarchy from berthd.
  if [ -n "${BERTH_NETNS:-}" ]; then launcher=(nsenter "--net=/run/netns/$BERTH_NETNS"); fi
  log_start=$(($(stat -c %s "$log" 2>/dev/null || echo 0) + 1))
  echo "npm start: starting berthd on $socket (log: $log)"
  ${launcher[@]+"${launcher[@]}"} node runtime-agent/bin/berthd.js --socket "$socket" ${berthd_args[@]+"${berthd_args[@]}"} \
    >>"$log" 2>&1 </dev/null &
  berthd_pid=$!
  for _ in $(seq 1 300); do
    ping_berthd && break
    if ! kill -0 "$berthd_pid" 2>/dev/null; then
      berthd_pid=
      echo "npm start: berthd exited before answering; the end of $log:" >&2
      tail -c "+$log_start" "$log" | tail -n 20 >&2
      exit 1
    fi
    sleep 0.1
  done
  ping_berthd || { echo "npm start: berthd did not answer on $socket within 30 s (see $log)" >&2; exit 1; }
fi

cat <<MSG
berthd: $socket. The docker CLI works against it too:

  export DOCKER_HOST=unix://$socket
  docker load -i $PWD/tests/fixtures/images/busybox-oci.tar   # the test image
  docker run --rm berth.test/busybox echo hello

MSG

electron_bin=
if [ -f node_modules/electron/path.txt ]; then
  candidate=node_modules/electron/dist/$(cat node_modules/electron/path.txt)
  [ -x "$candidate" ] && electron_bin=$candidate
fi
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -n "$electron_bin" ]; then
  # Chromium refuses to run as root with its sandbox; the renderer stays context-isolated and
  # sandboxed by Electron's own settings, but run `npm start` from a desktop user's
  # session through sudo to keep the OS-level sandbox too (then the app runs as that user).
  electron_args=(electron/dist/main/electron/main.js --socket "$socket")
  if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    # The API socket is 0600: hand it to the desktop user who runs the window, so it stays
    # reachable only by its owner (and root) rather than opening it to a group.
    chown "$SUDO_USER" "$socket"
    echo "npm start: opening the Berth window (Electron, as $SUDO_USER, who now owns $socket); Ctrl-C quits"
    runuser -u "$SUDO_USER" -- "$electron_bin" "${electron_args[@]}" &
  else
    echo "npm start: opening the Berth window (Electron, as root: --no-sandbox); Ctrl-C quits"
    "$electron_bin" --no-sandbox "${electron_args[@]}" &
  fi
else
  if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then why="no display"; else why="no Electron binary installed"; fi
  echo "npm start: $why: browser mode. Ctrl-C stops it."
  node electron/dist/main/cli/start.js --socket "$socket" ${port:+--port "$port"} &
fi
app_pid=$!
set +e
wait "$app_pid"
rc=$?
app_pid=
exit "$rc"
