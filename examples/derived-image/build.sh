#!/bin/bash
# Build examples/derived-image/Containerfile FROM an apt-ostree image and check
# the result with apt-ostree's bootc lint.
#
#   examples/derived-image/build.sh BASE_IMAGE TAG
#   e.g. examples/derived-image/build.sh localhost/debian-trixie-minimal:latest localhost/my-image:latest
#
# BASE_IMAGE is in podman's store, e.g. from
#   apt-ostree compose image treefiles/debian-trixie-minimal.yaml containers-storage:localhost/debian-trixie-minimal:latest
# APT_OSTREE names the CLI (default: this checkout's bin/run.js).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=${1:?usage: $0 BASE_IMAGE TAG}
tag=${2:?usage: $0 BASE_IMAGE TAG}
apt_ostree=${APT_OSTREE:-$here/../../bin/run.js}

# The host network: the build only downloads packages, and rootful podman's
# bridge network has no DNS on some CI runners.
podman build --network host --build-arg "BASE=$base" -t "$tag" "$here"
"$apt_ostree" container lint "containers-storage:$tag"
