#!/usr/bin/env bash
# Builds the systemd node image that the sandbox cluster and the Molecule
# scenarios boot. Two paths, same result:
#   - a registry answers: docker build on debian:bookworm (Dockerfile);
#   - no registry (this project's CI): mmdebstrap (or debootstrap where only
#     it is installed) from the apt mirror this machine is already configured
#     with, then docker import.
# Usage: build.sh [IMAGE]   (FORCE=1 rebuilds an existing image)
set -euo pipefail
IMAGE=${1:-${GPUCLUSTER_NODE_IMAGE:-gpucluster-node:bookworm}}
HERE=$(cd "$(dirname "$0")" && pwd)

# The image carries a digest of the files it is built from: an image built
# from older files is rebuilt, never silently reused.
SOURCE_DIGEST=$(cat "$HERE/Dockerfile" "$HERE/build.sh" "$HERE/finalize.sh" "$HERE/packages.txt" | sha256sum | cut -c1-16)
LABEL=io.gpucluster.image-source
if [[ "${FORCE:-0}" != 1 ]] \
   && [[ $(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null) == "$SOURCE_DIGEST" ]]; then
  echo "node image $IMAGE already present"
  exit 0
fi

mirror_from_apt_config() {
  # The Debian mirror this machine already uses (never a hard-coded host).
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e "$f" ]] || continue
    awk '/^URIs:/{u=$2} /^Suites:/{ for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+$/) {print u; exit} }' "$f"
  done | head -n1
  if [[ -e /etc/apt/sources.list ]]; then
    awk '$1=="deb" && $3 !~ /-/ {print $2; exit}' /etc/apt/sources.list
  fi
}

if [[ "${GPUCLUSTER_IMAGE_FROM:-auto}" != debootstrap ]] \
   && timeout 60 docker pull -q debian:bookworm >/dev/null 2>&1; then
  echo "building $IMAGE from debian:bookworm"
  docker build --label "$LABEL=$SOURCE_DIGEST" -t "$IMAGE" "$HERE"
  exit 0
fi

# mmdebstrap builds the same minbase system in about a third of debootstrap's time
# (apt fetches in parallel, dpkg unpacks in one go); its merged-usr hooks set up /usr
# the way debootstrap does (usr-is-merged, not the usrmerge package and its perl).
if command -v mmdebstrap >/dev/null; then
  BOOTSTRAP=(mmdebstrap --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
elif command -v debootstrap >/dev/null; then
  BOOTSTRAP=(debootstrap)
else
  echo "build.sh: mmdebstrap or debootstrap is required (apt-get install mmdebstrap)" >&2
  exit 1
fi
MIRROR=${GPUCLUSTER_APT_MIRROR:-$(mirror_from_apt_config | head -n1)}
[[ -n "$MIRROR" ]] || { echo "build.sh: no Debian mirror found in /etc/apt; set GPUCLUSTER_APT_MIRROR" >&2; exit 1; }

ROOTFS=$(mktemp -d /var/tmp/gpucluster-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
PACKAGES=$(grep -v '^#' "$HERE/packages.txt" | paste -sd, -)
echo "${BOOTSTRAP[0]} bookworm ($(wc -w <<<"${PACKAGES//,/ }") packages) into $ROOTFS"
"${BOOTSTRAP[@]}" --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
  || { tail -n 30 "$ROOTFS.log" >&2; exit 1; }
rm -f "$ROOTFS.log"

# apt inside the nodes uses the same sources as this machine when it runs
# bookworm itself, so security updates resolve too; otherwise the main mirror.
if grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release && compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
  cp /etc/apt/sources.list.d/*.sources "$ROOTFS/etc/apt/sources.list.d/"
  rm -f "$ROOTFS/etc/apt/sources.list"
else
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$MIRROR" "$MIRROR" >"$ROOTFS/etc/apt/sources.list"
fi
cp "$HERE/finalize.sh" "$ROOTFS/tmp/finalize.sh"
chroot "$ROOTFS" /bin/sh /tmp/finalize.sh
chroot "$ROOTFS" apt-get -o APT::Sandbox::User=root update -qq >/dev/null
rm -f "$ROOTFS/tmp/finalize.sh"

tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV container=docker' \
  --change 'CMD ["/sbin/init"]' \
  --change "LABEL $LABEL=$SOURCE_DIGEST" - "$IMAGE" >/dev/null
echo "built $IMAGE with ${BOOTSTRAP[0]}"
