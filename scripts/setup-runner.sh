#!/bin/bash
# Set up apt-ostree on a self-hosted runner that keeps its checkout between
# runs (.gitea/workflows/build-image.yml): the host tools, node_modules (npm ci
# only when the lockfile changed since the last run) and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if ! sha256sum --check --status node_modules/.package-lock.sha256 2>/dev/null; then
  npm ci --no-audit --no-fund
  sha256sum package-lock.json > node_modules/.package-lock.sha256
fi
npm run build
