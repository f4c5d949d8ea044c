#!/usr/bin/env bash
# An egress policy (davit's gate) against --network (NAT through slirp4netns), in the same run, on a test Internet of
# network namespaces the bench makes (198.18.N.0/24; nothing leaves the host): a sandbox's start, time to first byte
# of an allowed HTTPS request, throughput of a 100 MB download. Needs root (the veth pair), bwrap, slirp4netns,
# iptables-restore, node, openssl, curl (copied into the sandbox), a JDK >= 21 (22 for a base build before issue 71,
# whose gate was a JVM). See docs/reference/benchmarks/SANDBOX.md.
#   bench/egress.sh [ROUNDS]    (default 21)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-21}"
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
work="${BENCH_WORK:-$root/bench/work}/egress"
rm -rf "$work"; mkdir -p "$work"
[ -f "$root/davit-cli/target/davit.jar" ] && [ -d "$root/davit-sandbox/target/test-classes" ] ||
  (cd "$root" && JAVA_HOME="$DAVIT_JAVA_HOME" mvn -B -q -o -DskipTests -Ddavit.it.skip=true package -pl davit-cli -am >&2)
cp="$root/davit-cli/target/davit.jar:$root/davit-sandbox/target/test-classes:$root/davit-oci/target/test-classes"
# BENCH_JVM_OPTS: extra options for the bench's JVM (davit's side; each gate is davit-agent, started per sandbox)
exec "$java" ${BENCH_JVM_OPTS:-} --enable-native-access=ALL-UNNAMED -cp "$cp" "$root/bench/EgressBench.java" "$work" "$rounds"
