# shellcheck shell=bash
# Debian's dockerd as a reference engine, kept off this machine's network and out of its state.
#
# Sourced by scripts/build-test-image.sh (a real `docker save` fixture) and bench/run.sh (Docker's
# own start latency). dockerd runs in a network namespace of its own, with its data root, exec
# root, pid file and socket in one temp dir; no bridge, no iptables rules; its containers'
# cgroups under /<netns name>. Its managed containerd lives under the same dirs. refd_stop
# removes all of it: processes, mounts, cgroups, netns, dirs, and the trust key and empty
# /run/docker/plugins that dockerd writes outside its roots (when they were not there before).
#
#   source scripts/reference-dockerd.sh
#   refd_available || exit 0
#   trap refd_stop EXIT
#   refd_start berth-fixture        # netns "berth-fixture-<pid>"; sets REFD_HOST, REFD_DIR
#   refd_docker import ...          # the docker CLI pointed at it (own DOCKER_CONFIG too)
#   refd_stop                       # idempotent

REFD_DIR=''
REFD_NETNS=''
REFD_PID=''
REFD_HOST=''
REFD_HAD_KEY=1
REFD_HAD_RUN_DOCKER=1

refd_available() {
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 &&
    command -v ip >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1
}

refd_docker() {
  DOCKER_CONFIG="$REFD_DIR/cli" docker -H "$REFD_HOST" "$@"
}

# refd_start [netns-prefix]: starts dockerd and waits until it answers (30 s at most).
refd_start() {
  local prefix=${1:-berth-refd}
  REFD_DIR=$(mktemp -d /tmp/berth-refd.XXXXXX)
  REFD_NETNS="$prefix-$$"
  REFD_HOST="unix://$REFD_DIR/d.sock"
  REFD_HAD_KEY=1 REFD_HAD_RUN_DOCKER=1
  [ -e /etc/docker/key.json ] || REFD_HAD_KEY=0
  [ -e /run/docker ] || REFD_HAD_RUN_DOCKER=0
  mkdir -p "$REFD_DIR/cli"
  ip netns add "$REFD_NETNS" || return 1
  nsenter --net="/run/netns/$REFD_NETNS" ip link set lo up
  # nsenter execs dockerd (no fork), so $! is dockerd's own pid.
  nsenter --net="/run/netns/$REFD_NETNS" dockerd \
    --data-root "$REFD_DIR/data" --exec-root "$REFD_DIR/exec" --pidfile "$REFD_DIR/dockerd.pid" \
    -H "$REFD_HOST" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --cgroup-parent "/$REFD_NETNS" \
    >"$REFD_DIR/dockerd.log" 2>&1 &
  REFD_PID=$!
  local i
  for i in $(seq 1 300); do
    if ! kill -0 "$REFD_PID" 2>/dev/null; then
      echo "reference dockerd exited during start; its log:" >&2
      tail -n 20 "$REFD_DIR/dockerd.log" >&2
      return 1
    fi
    if refd_docker version >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "reference dockerd did not answer within 30 s; its log:" >&2
  tail -n 20 "$REFD_DIR/dockerd.log" >&2
  return 1
}

# Mount points under $1, deepest first, read from our own mountinfo (octal escapes decoded).
refd_mounts_under() {
  awk -v root="$1" '{ p = $5; gsub(/\\040/, " ", p); if (p == root || index(p, root "/") == 1) print p }' \
    /proc/self/mountinfo | sort -r
}

# Pids of processes whose command line mentions $1 (our unique temp dir), other than this shell.
refd_pids_under() {
  local dir=$1 pid
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [ "$pid" = "$$" ] && continue
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$dir"; then echo "$pid"; fi
  done
}

refd_stop() {
  local i pid m
  if [ -n "$REFD_PID" ] && kill -0 "$REFD_PID" 2>/dev/null; then
    kill -TERM "$REFD_PID" 2>/dev/null || true
    for i in $(seq 1 200); do kill -0 "$REFD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$REFD_PID" 2>/dev/null || true
    wait "$REFD_PID" 2>/dev/null || true
  fi
  REFD_PID=''
  if [ -n "$REFD_DIR" ] && [ -d "$REFD_DIR" ]; then
    # A killed dockerd can leave its containerd and shims behind: they all name our dir.
    for pid in $(refd_pids_under "$REFD_DIR"); do kill -KILL "$pid" 2>/dev/null || true; done
    for m in $(refd_mounts_under "$REFD_DIR"); do umount -l "$m" 2>/dev/null || true; done
    if [ -z "$(refd_mounts_under "$REFD_DIR")" ]; then
      rm -rf "$REFD_DIR"
    else
      echo "warning: mounts remain under $REFD_DIR; left it in place" >&2
    fi
  fi
  REFD_DIR=''
  if [ -n "$REFD_NETNS" ]; then
    # Its containers' cgroups went under /$REFD_NETNS; runc removed theirs, we remove ours.
    for m in /sys/fs/cgroup/"$REFD_NETNS" /sys/fs/cgroup/*/"$REFD_NETNS"; do
      [ -d "$m" ] && rmdir "$m" 2>/dev/null || true
    done
    ip netns delete "$REFD_NETNS" 2>/dev/null || true
    REFD_NETNS=''
  fi
  # dockerd also writes outside its roots: its trust key and an empty plugins dir.
  if [ "$REFD_HAD_KEY" = 0 ]; then rm -f /etc/docker/key.json; fi
  if [ "$REFD_HAD_RUN_DOCKER" = 0 ]; then
    rmdir /run/docker/plugins /run/docker 2>/dev/null || true
  fi
  return 0
}
