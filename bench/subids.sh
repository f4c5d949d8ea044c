#!/usr/bin/env bash
# What mapping the user's subordinate ids costs a rootless run (issue 19, docs/reference/sandbox/JAIL.md "Rootless with subordinate
# ids"): as the unprivileged test user (davit-rootless, made with a subordinate range when missing), `davit run IMAGE
# -- true` of the same busybox image with `--user 1000` (the chain: NS1, NS2, bubblewrap as the User; crun and runc
# as root of NS1) and without (sandbox root, no chain), alternating round by round, p50 of ROUNDS each.
# Then a workspace of each image, as that user: a 4 KiB file written and read and the diff, through the Java API in
# one warm JVM (bench/WorkspaceBench.java): the User 1000 workspace's file operations go through davit-exec files
# as root of the user's namespace of subordinate ids (fs.Broker), the root one's are the JVM's own.
#   bench/subids.sh [ROUNDS]    (default 15; run as root: it makes the user and runs davit as that user)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-15}"
work="${BENCH_WORK:-$root/bench/work}/subids"
. "$root/bench/busybox.sh"
user=davit-rootless
id "$user" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent "$user"
grep -q "^$user:" /etc/subuid || usermod --add-subuids 100000-165535 --add-subgids 100000-165535 "$user"
userref="127.0.0.1:$port/bench/busybox-user:1"
mkdir -p "$work/rootfs/home/u"
"$root/davit" build -q "$work/rootfs" "$userref" --user 1000:1000 --push >/dev/null
# the user's own copy of the tree: a home of its own, and a davit it can read (the jar and launcher)
home="$work/user-home"
rm -rf "$home"; mkdir -p "$home"; chown "$user:" "$home"; chmod 755 "$work" "$(dirname "$work")" || true
as_user() {
  setpriv --reuid="$user" --regid="$user" --clear-groups -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
    HOME="$home" DAVIT_HOME="$home/davit" LANG=C.UTF-8 "$@"
}
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo $(( (t1 - t0) / 1000000 )); }
. "$root/scripts/find-java.sh"
davit_jar="$root/davit-cli/target/davit.jar"
java="$DAVIT_JAVA_HOME/bin/java"
dv() { as_user "$java" -XX:+UseSerialGC -Xss512k -Xmn16m -XX:TieredStopAtLevel=1 -jar "$davit_jar" "$@"; }
for r in "$ref" "$userref"; do dv run -q --no-limits "$r" -- true >/dev/null; done   # pull and unpack once
for rt in bwrap crun runc; do : > "$work/root-$rt"; : > "$work/user-$rt"; done
for i in $(seq "$rounds"); do
  for rt in bwrap crun runc; do
    ms dv run -q --no-limits --runtime "$rt" "$ref" -- true >> "$work/root-$rt"
    ms dv run -q --no-limits --runtime "$rt" "$userref" -- true >> "$work/user-$rt"
  done
done
echo "| rootless \`davit run IMAGE -- true\`, whole process (p50 of $rounds, ms) | image User root (no chain) | image User 1000 (subordinate ids) | difference |"
echo "|---|---|---|---|"
for rt in bwrap crun runc; do
  a=$(median < "$work/root-$rt"); b=$(median < "$work/user-$rt")
  printf "| --runtime %s | %s | %s | %+d |\n" "$rt" "$a" "$b" "$((b - a))"
done

ws_root=$(dv --json workspace create --name bench-root "$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ws_user=$(dv --json workspace create --name bench-user "$userref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
chmod 755 "$root/bench"; chmod 644 "$root/bench/WorkspaceBench.java"
api() { as_user "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$davit_jar" "$root/bench/WorkspaceBench.java" "$home/davit" "$@"; }
echo
echo "| rootless workspace, Java API (p50 / p95 of $((rounds * 4)), ms) | image User root (the JVM acts) | image User 1000 (davit-exec files acts) |"
echo "|---|---|---|"
for op in write read diff; do
  n=$((rounds * 4)); [ "$op" = diff ] && n=$rounds
  a=$(api "$ws_root" "$op" "$n"); b=$(api "$ws_user" "$op" "$n")
  echo "| $op | ${a/ / / } | ${b/ / / } |"
done
dv workspace rm "$ws_root" >/dev/null; dv workspace rm "$ws_user" >/dev/null
