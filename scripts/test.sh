#!/usr/bin/env bash
# The whole test suite: installs the real components the tests use (docker-registry, skopeo, umoci) from
# Debian when missing, then runs unit, fuzz (regression mode), integration and interop tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
. scripts/find-java.sh
export JAVA_HOME="$DAVIT_JAVA_HOME"
exec mvn -B -ntp verify "$@"
