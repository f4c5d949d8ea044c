#!/usr/bin/env bash
# The whole test suite: installs the real components the tests use (docker-registry, skopeo, umoci) from
# Debian when missing, then runs unit, fuzz (regression mode), integration and interop tests, and last builds
# the release and tests it installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
. scripts/find-java.sh
export JAVA_HOME="$DAVIT_JAVA_HOME"
# The whole suite also runs the K8s* tests against a real Kubernetes cluster (scripts/cluster.sh): davit-k8s's, and
# davit-cli's K8sMcpNodeClientTest (the MCP server on --backend k8s, the npm SDK as its agent). Its binaries are
# built from their Go modules the first time on a machine (~20 min on 2 cores), beside the Maven suite at the lowest
# CPU priority, so that only the cluster's own tests wait for them; the cluster starts after the suite (so nothing of
# it runs while the other tests do), its tests run, and it stops, also on failure. Two simulated nodes (kwok) beside
# the two real ones carry K8sScaleTest's sandboxes.
export DAVIT_CLUSTER_SIMULATED_NODES="${DAVIT_CLUSTER_SIMULATED_NODES:-2}"
cluster_build=
if [ $# -eq 0 ]; then
  mkdir -p target
  nice -n 19 bash scripts/cluster.sh build > target/cluster-build.log 2>&1 &
  cluster_build=$!
fi
mvn -B -ntp verify "$@"
# Then the Maven artifacts as Maven Central takes them, signed with a throwaway key and checked (about a minute
# after the verify above: scripts/release-check.sh), and the release as users install it: the tarball and the .deb
# built, installed and run with no JDK (scripts/dist-test.sh). Only for the whole suite: arguments (e.g. -pl or
# -Dtest) select Maven tests alone.
if [ $# -eq 0 ]; then
  bash scripts/release-check.sh
  if ! wait "$cluster_build"; then
    tail -40 target/cluster-build.log >&2
    echo "test.sh: the cluster's binaries could not be built (target/cluster-build.log)" >&2
    exit 1
  fi
  # the release first: the cluster phase's K8sInClusterTest makes davit's image of it (scripts/image.sh), and
  # dist-test.sh tests it afterwards
  bash scripts/dist.sh
  trap 'bash scripts/cluster.sh down || true' EXIT
  kubeconfig=$(bash scripts/cluster.sh up | tail -1)
  DAVIT_CLUSTER_ENV="$(dirname "$kubeconfig")/cluster.env" mvn -B -ntp verify -pl davit-k8s,davit-cli -am \
    -Dtest='K8s*' -Dsurefire.failIfNoSpecifiedTests=false
  bash scripts/cluster.sh down
  trap - EXIT
  bash scripts/dist-test.sh --skip-build
fi
