#!/bin/sh
# Installs the host tools apt-ostree and its tests run, from Debian's archive.
# Recommends stay off: a recommended systemd-resolved would replace
# /etc/resolv.conf on the host.
# Integration tests also need podman (root, runc, the kernel's overlayfs: no
# uidmap, fuse-overlayfs, slirp4netns or crun), docker-registry (they start
# their own on a free port) and busybox-static (a static binary for a tiny
# test image; it replaces a dynamic busybox and provides it).
# Trees of another architecture (arm64) run through qemu-user-static, which
# the kernel must know with the F flag; mmdebstrap checks it with arch-test.
# Registered here as systemd does at boot, when this host has not. arm64
# machines boot under qemu-system-aarch64 with AAVMF (qemu-efi-aarch64).
# patchelf makes the host's programs run in such a tree (dracut's bash and cp).
set -eu

PACKAGES="mmdebstrap bubblewrap uidmap gpgv gpg xz-utils ostree skopeo umoci zstd debian-archive-keyring
  qemu-system-x86 qemu-utils ovmf e2fsprogs dosfstools mtools fdisk ca-certificates
  podman runc docker-registry busybox-static attr libcap2-bin
  qemu-user-static arch-test patchelf qemu-system-arm qemu-efi-aarch64"

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.stdout.write(String(a>20||(a===20&&b>=19)))' 2>/dev/null || echo false)
if [ "$node_ok" != true ]; then
  echo "apt-ostree needs Node.js >= 20.19 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

missing=""
for pkg in $PACKAGES; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing host packages:$missing (run this script as root)" >&2
    exit 1
  fi
  echo "installing:$missing" >&2
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
  case " $missing " in
    *" docker-registry "*)
      # The package enables a system-wide registry on :5000; nothing here uses it.
      if [ -d /run/systemd/system ]; then
        systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
      fi ;;
  esac
fi

if [ "$(id -u)" = 0 ] && [ "$(dpkg --print-architecture)" = amd64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  # Without it only arm64 composes fail (doctor says why): not the rest.
  { [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; } &&
    /usr/lib/systemd/systemd-binfmt /usr/lib/binfmt.d/qemu-aarch64.conf ||
    echo "could not register qemu-aarch64 with binfmt_misc: arm64 trees cannot be composed here" >&2
fi
