#!/usr/bin/env bash
# The whole test suite: unit, fuzz (regression mode), integration and interop tests against a real registry.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/find-java.sh
export JAVA_HOME="$DAVIT_JAVA_HOME"
exec mvn -B -ntp verify "$@"
