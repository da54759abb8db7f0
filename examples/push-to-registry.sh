#!/bin/bash
# Compose a treefile straight into a registry, as a bootc image.
#
#   skopeo login --authfile auth.json registry.example.com     # once
#   REGISTRY_AUTH_FILE=auth.json examples/push-to-registry.sh \
#     treefiles/debian-trixie-minimal.yaml docker://registry.example.com/debian/minimal:latest
#
# Extra arguments go to `apt-ostree compose image` (--no-dest-tls-verify for
# a plain-http registry, --label K=V, --cachedir DIR, ...). The commit is kept
# in a repo in the cache; an unchanged treefile and archive push nothing new.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
treefile=${1:?usage: $0 TREEFILE docker://REGISTRY/NAME[:TAG] [compose image flags...]}
destination=${2:?usage: $0 TREEFILE docker://REGISTRY/NAME[:TAG] [compose image flags...]}
shift 2
apt_ostree=${APT_OSTREE:-$here/../bin/run.js}
exec "$apt_ostree" compose image "$treefile" "$destination" ${REGISTRY_AUTH_FILE:+--authfile "$REGISTRY_AUTH_FILE"} "$@"
