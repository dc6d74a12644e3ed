#!/usr/bin/env bash
# Builds Berth's test image, berth.test/busybox:latest, from Debian's busybox-static, so tests
# never need a registry. Outputs, in tests/fixtures/images/ (gitignored):
#
#   busybox-rootfs/            the root filesystem: bin/busybox + one symlink per applet,
#                              /etc/{passwd,group,hostname,os-release}, /root, /home/berth, /tmp
#   busybox-rootfs.tar         the same as a deterministic tar (sorted, fixed mtime, numeric
#                              owners): input for `docker import` and the image's only layer
#   busybox-oci/, -oci.tar     an OCI image layout of it (Cmd ["sh"], Env PATH)
#   busybox-docker-save.tar    a real `docker save` of it from Debian's dockerd (skipped when
#                              dockerd is not installed)
#
# Idempotent: an output newer than /bin/busybox, this script and its inputs is kept.
# Usage: scripts/build-test-image.sh [--force]
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
# shellcheck source=scripts/reference-dockerd.sh
source scripts/reference-dockerd.sh

OUT=tests/fixtures/images
BUSYBOX=/bin/busybox
IMAGE=berth.test/busybox:latest
ENV_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EPOCH=1704067200 # 2024-01-01T00:00:00Z, the mtime of every file in the tars
CREATED=2024-01-01T00:00:00Z
SELF=(scripts/build-test-image.sh scripts/reference-dockerd.sh)
FORCE=0
[ "${1:-}" = --force ] && FORCE=1

die() { echo "build-test-image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (the rootfs holds files owned by uid 1000)"
[ -x "$BUSYBOX" ] && "$BUSYBOX" --list >/dev/null 2>&1 ||
  die "$BUSYBOX missing: apt-get install busybox-static (or run scripts/setup.sh)"

BUILT=()
KEPT=()
SKIPPED=()

# fresh OUTPUT [INPUT...]: true when OUTPUT exists and is newer than busybox, us and INPUTs.
fresh() {
  local out=$1 dep
  shift
  [ "$FORCE" = 0 ] && [ -e "$out" ] || return 1
  for dep in "$BUSYBOX" "${SELF[@]}" "$@"; do
    [ "$out" -nt "$dep" ] || return 1
  done
}

# deterministic_tar DIR OUTPUT: every entry of DIR, names without "./", sorted, fixed mtime.
deterministic_tar() {
  local dir=$1 out=$2 entries
  entries=$(cd "$dir" && LC_ALL=C ls -A)
  # shellcheck disable=SC2086 # entry names are ours: no spaces
  LC_ALL=C tar -C "$dir" --sort=name --format=ustar --numeric-owner --mtime="@$EPOCH" \
    -cf "$out" $entries
}

busybox_version() {
  "$BUSYBOX" 2>&1 | head -n 1 | sed -n 's/^BusyBox \(v[^ ]*\).*/\1/p'
}

build_rootfs() {
  local root=$OUT/.busybox-rootfs.tmp applet
  rm -rf "$root"
  install -d -m 0755 "$root"/{bin,dev,etc,home,proc,sys,usr,var}
  install -d -m 0700 "$root/root"
  install -d -m 1777 "$root/tmp"
  install -d -m 0755 -o 1000 -g 1000 "$root/home/berth"
  install -m 0755 "$BUSYBOX" "$root/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'berth:x:1000:1000:berth:/home/berth:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'berth:x:1000:' 'nogroup:x:65534:' >"$root/etc/group"
  : >"$root/etc/hostname"
  printf '%s\n' 'NAME="Berth test image"' "PRETTY_NAME=\"Berth test image (BusyBox $(busybox_version))\"" \
    'ID=berth-test' "VERSION_ID=$(busybox_version | tr -d v)" >"$root/etc/os-release"
  chmod 0644 "$root"/etc/*
  rm -rf "$OUT/busybox-rootfs"
  mv "$root" "$OUT/busybox-rootfs"
}

oci_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    armv7l) echo arm ;;
    *) uname -m ;;
  esac
}

# put_blob LAYOUT FILE: stores FILE under blobs/sha256/ and prints "<digest> <size>".
put_blob() {
  local layout=$1 file=$2 hex
  hex=$(sha256sum "$file" | cut -d' ' -f1)
  cp "$file" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $(stat -c %s "$file")"
}

build_oci() {
  local layout=$OUT/.busybox-oci.tmp scratch layer config manifest
  scratch=$OUT/.oci-scratch.tmp
  rm -rf "$layout" "$scratch"
  mkdir -p "$scratch"
  mkdir -p "$layout/blobs/sha256"
  read -r layer_digest layer_size < <(put_blob "$layout" "$OUT/busybox-rootfs.tar")
  config=$scratch/config.json
  printf '{"architecture":"%s","config":{"Env":["PATH=%s"],"Cmd":["sh"]},"created":"%s","history":[{"created":"%s","created_by":"scripts/build-test-image.sh: busybox-static %s"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$(oci_arch)" "$ENV_PATH" "$CREATED" "$CREATED" "$(busybox_version)" "$layer_digest" >"$config"
  read -r config_digest config_size < <(put_blob "$layout" "$config")
  manifest=$scratch/manifest.json
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$manifest"
  read -r manifest_digest manifest_size < <(put_blob "$layout" "$manifest")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_digest" "$manifest_size" "$IMAGE" "${IMAGE##*:}" >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  rm -rf "$scratch"
  rm -rf "$OUT/busybox-oci"
  mv "$layout" "$OUT/busybox-oci"
}

build_docker_save() {
  trap 'refd_stop' EXIT
  refd_start berth-fixture || die "could not start the reference dockerd"
  refd_docker import --change 'CMD ["sh"]' --change "ENV PATH=$ENV_PATH" \
    -m 'Berth test image (scripts/build-test-image.sh)' "$OUT/busybox-rootfs.tar" "$IMAGE" >/dev/null
  refd_docker save -o "$OUT/.busybox-docker-save.tar.tmp" "$IMAGE"
  refd_stop
  trap - EXIT
  chmod 0644 "$OUT/.busybox-docker-save.tar.tmp"
  mv "$OUT/.busybox-docker-save.tar.tmp" "$OUT/busybox-docker-save.tar"
}

mkdir -p "$OUT"
rm -rf "$OUT"/.*.tmp

step() { # step NAME BUILD-FUNCTION INPUT...
  local name=$1 fn=$2
  shift 2
  if fresh "$OUT/$name" "$@"; then
    KEPT+=("$name")
  else
    "$fn"
    BUILT+=("$name")
  fi
}

step busybox-rootfs build_rootfs
rootfs_tar() {
  deterministic_tar "$OUT/busybox-rootfs" "$OUT/.busybox-rootfs.tar.tmp"
  mv "$OUT/.busybox-rootfs.tar.tmp" "$OUT/busybox-rootfs.tar"
}
step busybox-rootfs.tar rootfs_tar "$OUT/busybox-rootfs"
step busybox-oci build_oci "$OUT/busybox-rootfs.tar"
oci_tar() {
  deterministic_tar "$OUT/busybox-oci" "$OUT/.busybox-oci.tar.tmp"
  mv "$OUT/.busybox-oci.tar.tmp" "$OUT/busybox-oci.tar"
}
step busybox-oci.tar oci_tar "$OUT/busybox-oci"
if fresh "$OUT/busybox-docker-save.tar" "$OUT/busybox-rootfs.tar"; then
  KEPT+=(busybox-docker-save.tar)
elif refd_available; then
  build_docker_save
  BUILT+=(busybox-docker-save.tar)
else
  SKIPPED+=("busybox-docker-save.tar (dockerd not found: apt-get install docker.io)")
fi

for name in ${BUILT[@]+"${BUILT[@]}"}; do
  echo "built      $OUT/$name ($(du -sh "$OUT/$name" | cut -f1))"
done
for name in ${KEPT[@]+"${KEPT[@]}"}; do echo "up to date $OUT/$name"; done
for name in ${SKIPPED[@]+"${SKIPPED[@]}"}; do echo "skipped    $OUT/$name"; done
