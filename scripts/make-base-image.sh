#!/bin/bash
# Makes a Debian base image for the Containerfile where no registry can be
# reached: mmdebstrap bootstraps Debian from the archive into a tarball and
# `podman import` turns it into an image, so that
#
#   scripts/make-base-image.sh
#   podman build --build-arg BASE=localhost/debian:trixie -t localhost/apt-ostree .
#
# builds the tool image with nothing but a Debian mirror. With a registry,
# skip this script: the Containerfile's default BASE is docker.io/library/debian:trixie.
#
# Usage: scripts/make-base-image.sh [--force] [IMAGE]
#   IMAGE    the name to import as (default $IMAGE, else localhost/debian:$SUITE)
#   --force  bootstrap again although IMAGE exists (e.g. for newer packages)
# Environment: SUITE (default trixie), MIRROR (default http://deb.debian.org/debian),
# and podman's own (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF) to pick the store.
set -euo pipefail

SUITE=${SUITE:-trixie}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
force=false
image=${IMAGE:-localhost/debian:$SUITE}
for arg in "$@"; do
  case $arg in
    --force) force=true ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "make-base-image: unknown option $arg" >&2; exit 2 ;;
    *) image=$arg ;;
  esac
done

# Idempotent: a second run keeps the image it made; the Containerfile's
# apt-get update fetches current package lists anyway.
if ! $force && podman image exists "$image"; then
  echo "make-base-image: $image exists (--force makes it again)" >&2
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/make-base-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# minbase is what the registry's debian:SUITE holds (essential, required,
# apt); the same three sources it has, so images built on it get security
# updates. A file rather than a pipe into podman import: a bootstrap that
# fails half-way must not leave a half image under the name.
mmdebstrap --variant=minbase --format=tar "$SUITE" "$work/rootfs.tar" \
  "deb $MIRROR $SUITE main" \
  "deb $MIRROR $SUITE-updates main" \
  "deb ${MIRROR%/debian}/debian-security $SUITE-security main"

# podman import gives an empty config: the registry image's PATH and CMD.
podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  --message "mmdebstrap --variant=minbase $SUITE $MIRROR" \
  "$work/rootfs.tar" "$image" >/dev/null
echo "make-base-image: imported $image" >&2
