#!/usr/bin/env bash
# What confining sandboxes costs (issue 19): this build against a base build (default: the commit before the jail,
# 2ab46a7, built in a git worktree under bench/work), measured in the same run, alternating round by round:
#   `davit run IMAGE -- true` (whole process, the CLI's default limits), `davit workspace create IMAGE` (whole
#   process) and the exec of `true` in a warm workspace through the Java API (what `workspace_exec` of the MCP server
#   runs in its JVM), p50 of ROUNDS each.
#   bench/jail.sh [ROUNDS]    (default 15; BASE_JAR=path/to/davit.jar to compare with another build)
# The CLI rows run each build's own ./davit launcher (with its AOT start-up cache, trained on first use, as users run
# it); the exec row runs both jars' Java API in one warm JVM each.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-15}"
work="${BENCH_WORK:-$root/bench/work}/jail"
. "$root/bench/busybox.sh"
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
now_jar="$root/davit-cli/target/davit.jar"
[ -f "$now_jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests package -pl davit-cli -am)
base_jar="${BASE_JAR:-}"
if [ -z "$base_jar" ]; then
  base="$work/../jail-base"
  if [ ! -f "$base/davit-cli/target/davit.jar" ]; then
    rm -rf "$base"; git -C "$root" worktree add -f "$base" 2ab46a7 >/dev/null 2>&1
    (cd "$base" && JAVA_HOME="$DAVIT_JAVA_HOME" mvn -q -B -ntp -o -DskipTests package -pl davit-cli -am)
  fi
  base_jar="$base/davit-cli/target/davit.jar"
fi
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo $(( (t1 - t0) / 1000000 )); }
davit() { local jar=$1 home=$2; shift 2; DAVIT_HOME="$home" "$(dirname "$jar")/../../davit" "$@"; }
api() { "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$1" "$root/bench/WorkspaceBench.java" "$2" "$3" exec "$rounds"; }
for b in base now; do
  jar=$([ $b = base ] && echo "$base_jar" || echo "$now_jar")
  davit "$jar" "$work/home-$b" run -q "$ref" -- true >/dev/null   # pull and unpack once
  : > "$work/run-$b"; : > "$work/create-$b"
done
for i in $(seq "$rounds"); do
  for b in base now; do
    jar=$([ $b = base ] && echo "$base_jar" || echo "$now_jar")
    ms davit "$jar" "$work/home-$b" run -q "$ref" -- true >> "$work/run-$b"
    t0=$(now); id=$(davit "$jar" "$work/home-$b" -q workspace create "$ref"); t1=$(now)
    echo $(( (t1 - t0) / 1000000 )) >> "$work/create-$b"
    davit "$jar" "$work/home-$b" -q workspace rm "$id" >/dev/null
  done
done
for b in base now; do
  jar=$([ $b = base ] && echo "$base_jar" || echo "$now_jar")
  id=$(davit "$jar" "$work/home-$b" -q workspace create "$ref")
  api "$jar" "$work/home-$b" "$id" > "$work/exec-$b"
  davit "$jar" "$work/home-$b" -q workspace rm "$id" >/dev/null
done
ratio() { python3 -c "print(f'{$1/max($2,1):.2f}')"; }
echo "| measurement (p50 of $rounds, ms) | base (2ab46a7) | this build | this/base |"
echo "|---|---|---|---|"
rb=$(median < "$work/run-base"); rn=$(median < "$work/run-now")
echo "| \`davit run IMAGE -- true\`, whole process | $rb | $rn | $(ratio "$rn" "$rb") |"
cb=$(median < "$work/create-base"); cn=$(median < "$work/create-now")
echo "| \`davit workspace create IMAGE\`, whole process | $cb | $cn | $(ratio "$cn" "$cb") |"
read -r eb _ < "$work/exec-base"; read -r en _ < "$work/exec-now"
echo "| exec of \`true\` in a warm workspace, Java API (as \`workspace_exec\`) | $eb | $en | $(ratio "$en" "$eb") |"
