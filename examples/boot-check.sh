#!/bin/bash
# Prove an image boots: deploy it into a throwaway disk with its own ostree,
# boot it under QEMU and wait for multi-user.target. Exit 0 only when the
# target is reached with no failed unit.
#
#   examples/boot-check.sh oci-archive:out/minimal.ociarchive
#   examples/boot-check.sh containers-storage:localhost/my-image:latest
#   examples/boot-check.sh out/minimal.qcow2            # a disk from compose disk-image
#
# Extra arguments go to `apt-ostree vm boot` (--timeout S, --console, --keep).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: $0 IMAGE|DISK [vm boot flags...]}
shift
apt_ostree=${APT_OSTREE:-$here/../bin/run.js}
exec "$apt_ostree" vm boot "$target" "$@"
