#!/usr/bin/env bash
# Installs and builds everything Berth needs on a Debian/Ubuntu machine, as root:
#   1. Debian packages (apt-get update runs only when some are missing);
#   2. npm install when node_modules is missing or older than a package.json / the lockfile
#      (its postinstall builds the native helper and compiles berthd), else an incremental
#      `npm run build`;
#   3. the test image (scripts/build-test-image.sh, itself a no-op when up to date).
# Fast when everything is present. Usage: scripts/setup.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."

QUIET=0
[ "${1:-}" = --quiet ] && QUIET=1
say() { if [ "$QUIET" = 0 ]; then echo "setup: $*"; fi; }
die() { echo "setup: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: berthd needs namespaces, mounts and cgroups"

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "Node.js >= 20 with npm is required (found: $(node --version 2>/dev/null || echo none))"

# docker.io: a reference dockerd for real `docker save` fixtures and benchmarks, and a docker
# CLI when none is installed (the 28.x CLI in /usr/local/bin takes precedence on PATH);
# tmux drives the interactive (-it) tests through a real terminal; docker-registry, apache2-utils
# (htpasswd -B) and openssl (token signing certificates) make the tests' real registries;
# chromium (driven by playwright-core), xvfb and fonts-dejavu-core run the app's end-to-end tests
# and benchmarks in a real browser, headless and once in a real window on a virtual display;
# openssh-server is the real SSH server (on loopback, per test) behind the app's ssh:// connection;
# curl lets `npm start` ask berthd's socket whether it answers.
PACKAGES=(busybox-static iproute2 nftables iptables runc docker.io ca-certificates make gcc g++ python3 tmux procps
  docker-registry apache2-utils openssl chromium xvfb fonts-dejavu-core openssh-server curl)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

policy_rc_d=/usr/sbin/policy-rc.d
remove_policy() { rm -f "$policy_rc_d"; }

if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || die "no apt-get: install ${missing[*]} with your package manager"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Berth runs Debian's dockerd only in a network namespace of its own: keep the package from
  # starting it (and its bridge and iptables rules) on this machine's network.
  if [ ! -e "$policy_rc_d" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy_rc_d"
    chmod 0755 "$policy_rc_d"
    trap remove_policy EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  remove_policy
  trap - EXIT
  if [[ " ${missing[*]} " == *" docker.io "* ]] && command -v systemctl >/dev/null &&
    [ -d /run/systemd/system ]; then
    echo "setup: disabling the docker and containerd services (reference engine only)"
    systemctl disable --now docker.socket docker.service containerd.service 2>/dev/null || true
  fi
  if [[ " ${missing[*]} " == *" openssh-server "* ]] && command -v systemctl >/dev/null &&
    [ -d /run/systemd/system ]; then
    echo "setup: disabling the ssh service (the tests start their own sshd on loopback)"
    systemctl disable --now ssh.service ssh.socket 2>/dev/null || true
  fi
else
  say "Debian packages present"
fi

docker_major=$(docker --version 2>/dev/null | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p' || true)
if [ -z "$docker_major" ] || [ "$docker_major" -lt 20 ]; then
  echo "setup: warning: no docker CLI >= 20 on PATH (found: ${docker_major:-none})" >&2
fi

# npm: a stamp newer than every manifest means node_modules matches them.
stamp=node_modules/.berth-setup-stamp
need_install=0
[ -e "$stamp" ] || need_install=1
for manifest in package-lock.json package.json */package.json; do
  [ -e "$manifest" ] || continue
  [ "$need_install" = 1 ] || [ "$stamp" -nt "$manifest" ] || need_install=1
done
if [ "$need_install" = 1 ]; then
  echo "setup: npm install (builds the native helper and berthd)"
  npm install --no-audit --no-fund
  touch "$stamp"
else
  say "node_modules present; incremental build"
  npm run -s build
fi

if [ "$QUIET" = 1 ]; then
  bash scripts/build-test-image.sh | { grep -v '^up to date' || true; }
else
  bash scripts/build-test-image.sh
fi
say "ready"
