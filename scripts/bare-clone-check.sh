#!/usr/bin/env bash
# A newcomer's first run, as a CI check: clone the repository (its committed HEAD) into an empty folder
# with nothing beside it (no ../shared) and run the README's test command there: `npm ci && npm test`.
# Without CA_ROTATE_REQUIRE_ALL, suites that need something outside the repository (real Kuma binaries,
# PostgreSQL, ...) print their "did not run" line; everything else must pass. The binaries cache
# (~/.cache/mesh-ca-rotator) is the same as the main run's, so nothing is built twice.
# Usage: scripts/bare-clone-check.sh [REPOSITORY]   (default: this checkout)
set -euo pipefail

source_repo="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
work="$(mktemp -d "${TMPDIR:-/tmp}/ca-rotate-bare-clone-XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-hardlinks "$source_repo" "$work/mesh-ca-rotator"
cd "$work/mesh-ca-rotator"
if [ -e ../shared ]; then echo "bare-clone-check: $work/shared exists; the clone must stand alone" >&2; exit 1; fi
echo "bare-clone-check: $(git log -1 --format='%h %s') in $PWD"

# A newcomer's environment: no switch that turns a missing outside requirement into a failure.
unset CA_ROTATE_REQUIRE_ALL
start=$SECONDS
npm ci --no-audit --no-fund
npm test
echo "bare-clone-check: npm ci && npm test passed in $((SECONDS - start)) s"
