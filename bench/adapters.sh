#!/usr/bin/env bash
# A tool call through the LangChain4j adapter against the library call it makes, in one JVM, on one container
# workspace over a busybox image (bench/adapters/AdapterBench.java). There is no previous build of the adapter to
# measure beside it. Wall times in ms.
#   bench/adapters.sh [ROUNDS (default 200)]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-200}"
work="${BENCH_WORK:-$root/bench/work}/adapters"
. "$root/bench/busybox.sh"        # a registry and the busybox image: $ref; DAVIT_HOME=$work/home
. "$root/scripts/find-java.sh"
cp="$work/classpath"
(cd "$root" && JAVA_HOME="$DAVIT_JAVA_HOME" mvn -q -B -ntp -o dependency:build-classpath -pl davit-langchain4j \
  -Dmdep.outputFile="$cp" -Dmdep.includeScope=runtime >/dev/null)
"$DAVIT_JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC ${BENCH_JAVA_OPTS:-} \
  -cp "$root/davit-langchain4j/target/classes:$(cat "$cp")" "$root/bench/adapters/AdapterBench.java" \
  "$DAVIT_HOME" "$ref" "$rounds"
