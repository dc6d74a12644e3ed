#!/usr/bin/env bash
# `npm run bench`: container start latency of berthd next to runc and Debian's dockerd.
# Builds what is missing (scripts/setup.sh), compiles bench/start-latency.ts into .tmp/bench/
# (removed again at exit), starts the reference dockerd in its own network namespace when it is
# installed, runs the benchmark and removes the reference dockerd again. Arguments go to
# start-latency:
#   npm run bench -- --runs 50 --only cli,runc
# BENCH_DOCKERD=0 leaves Docker's column out.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "bench: run as root" >&2
  exit 1
fi
bash scripts/setup.sh --quiet

# shellcheck source=scripts/reference-dockerd.sh
source scripts/reference-dockerd.sh
# The compiled bench is removed afterwards so `eslint .` never sees generated JavaScript.
cleanup() {
  refd_stop
  rm -rf .tmp/bench
}
trap cleanup EXIT
npx tsc -p bench/tsconfig.run.json

dockerd_args=()
if [ "${BENCH_DOCKERD:-1}" = 1 ] && refd_available; then
  refd_start berth-bench
  dockerd_args=(--dockerd-host "$REFD_HOST" --dockerd-config "$REFD_DIR/cli")
  # BENCH=pull bridges its registry into dockerd's namespace and checks its layer store.
  export BENCH_DOCKERD_NETNS="$REFD_NETNS" BENCH_DOCKERD_DATA="$REFD_DIR/data"
else
  echo "bench: dockerd not installed (or BENCH_DOCKERD=0): no Docker column" >&2
fi
# BENCH=observe runs issue 3's exec latency and stats cost instead of start latency;
# BENCH=network issue 4's networking figures; BENCH=cp issue 5's docker cp throughput;
# BENCH=pull issue 6's docker pull of a 100 MB image from a loopback registry;
# BENCH=build issue 6's no-op rebuild of a 10-step Dockerfile (classic builder).
node ".tmp/bench/bench/${BENCH:-start-latency}.js" ${dockerd_args[@]+"${dockerd_args[@]}"} "$@"
