#!/usr/bin/env bash
# The signature policy's cost on a cached run (issue 39; goal: at most 5 ms when the image was verified at pull and
# the policy has not changed): bench/TrustBench.java signs the static busybox image of bench/busybox.sh (in a
# loopback registry) with a new sigstore key, pulls it under a policy requiring that key, then times what a cached
# `davit run` does before running (DavitClient.signatures().checkTrust) with no policy (the previous build:
# nothing), with the unchanged policy, and with a changed one (the signature fetched and verified again). Microseconds, p50 and p95.
#   bench/signatures.sh [ROUNDS]    (default 200)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-200}"
work="${BENCH_WORK:-$root/bench/work}/signatures"
. "$root/bench/busybox.sh"
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
jar="$root/davit-cli/target/davit.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests -Ddavit.it.skip=true package -pl davit-cli -am)
"$java" -cp "$jar" "$root/bench/TrustBench.java" "$work/trust" "$ref" "$rounds"
