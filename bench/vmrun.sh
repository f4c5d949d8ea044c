#!/usr/bin/env bash
# One-shot microVM runs of `true` through the Java API (boot to agent-ready, exec, clean-up), this build against
# BASE_JAR (another build's davit.jar), alternating batch by batch, in a JVM each:
#   BASE_JAR=path/to/davit.jar bench/vmrun.sh ENV_DIR [ROUNDS] [BATCHES]   (defaults 5 and 3)
# ENV_DIR is a microVM environment (vmlinux, initrd, rootfs.ext4), e.g. the one the tests build in
# ~/.cache/davit-test/vm/envs/. Prints the p50 of each batch and the median of those. MODE=exec: execs of `true` in
# one long-lived VM sandbox per batch instead (ROUNDS of them, after five to warm up); MODE=read: reads of the guest's
# /proc/1/net/tcp through its guest files (a service's readiness probe) the same way; MODE=spawn: a background
# command's life (a detached sleep started, seen running, stopped) the same way.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
env_dir="$1"; rounds="${2:-5}"; batches="${3:-3}"
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
now_jar="$root/davit-cli/target/davit.jar"
[ -f "$now_jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests package -pl davit-cli -am)
work="${BENCH_WORK:-$root/bench/work}/vmrun"
rm -rf "$work"; mkdir -p "$work"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in $(seq "$batches"); do
  for b in now base; do
    jar=$([ $b = base ] && echo "${BASE_JAR:?set BASE_JAR}" || echo "$now_jar")
    "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$jar" "$root/bench/VmRunBench.java" \
      "$work/home-$b" "$env_dir" "$rounds" ${MODE:-} | awk '{print $1}' >> "$work/$b"
  done
done
n=$(median < "$work/now"); b=$(median < "$work/base")
if [ "${MODE:-}" = spawn ]; then
  echo "| microVM background command started, seen running and stopped in a long-lived sandbox, Java API (p50 of $rounds, median of $batches batches, ms) | base | this build | this/base |"
  echo "|---|---|---|---|"
  echo "| spawn, alive, terminate | $b | $n | $(python3 -c "print(f'{$n/max($b,0.1):.2f}')") |"
  exit 0
fi
if [ "${MODE:-}" = read ]; then
  echo "| microVM guest file read of /proc/1/net/tcp in a long-lived sandbox, Java API (p50 of $rounds, median of $batches batches, ms) | base | this build | this/base |"
  echo "|---|---|---|---|"
  echo "| read | $b | $n | $(python3 -c "print(f'{$n/max($b,0.1):.2f}')") |"
  exit 0
fi
if [ "${MODE:-}" = exec ]; then
  echo "| microVM exec of \`true\` in a long-lived sandbox, Java API (p50 of $rounds, median of $batches batches, ms) | base | this build | this/base |"
  echo "|---|---|---|---|"
  echo "| exec | $b | $n | $(python3 -c "print(f'{$n/max($b,0.1):.2f}')") |"
  exit 0
fi
echo "| one-shot microVM run of \`true\`, Java API (p50 of $rounds, median of $batches batches, ms) | base | this build | this/base |"
echo "|---|---|---|---|"
echo "| boot, exec, clean-up | $b | $n | $(python3 -c "print(f'{$n/max($b,1):.2f}')") |"
