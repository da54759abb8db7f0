#!/bin/bash
# The integration tests in two lanes side by side, each a vitest run of its
# own, file by file (see vitest.config.ts for which file goes where). One
# vitest run does not do it: its projects, even with a worker each, took
# their files one at a time (vitest 4.1). Exits non-zero when either fails.
set -u
cd "$(dirname "$0")/.."
npx vitest run --project integration-shared-cache "$@" &
shared=$!
npx vitest run --project integration-own-cache "$@"
own=$?
wait "$shared"
shared=$?
echo "integration lanes: shared-cache exit ${shared}, own-cache exit ${own}"
[ "$shared" -eq 0 ] && [ "$own" -eq 0 ]
