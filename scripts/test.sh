#!/usr/bin/env bash
# The whole test suite: installs the real components the tests use (docker-registry, skopeo, umoci) from
# Debian when missing, then runs unit, fuzz (regression mode), integration and interop tests, and last builds
# the release and tests it installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
. scripts/find-java.sh
export JAVA_HOME="$DAVIT_JAVA_HOME"
mvn -B -ntp verify "$@"
# Then the release as users install it: the tarball and the .deb built, installed and run with no JDK
# (scripts/dist-test.sh). Only for the whole suite: arguments (e.g. -pl or -Dtest) select Maven tests alone.
if [ $# -eq 0 ]; then
  bash scripts/dist-test.sh
fi
