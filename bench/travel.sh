#!/usr/bin/env bash
# Commit and snapshots that travel through the Java API (bench/TravelBench.java), with peers in the same run:
#   commit of a container workspace holding 10,000 files and a 50 MB change of random bytes (stored), against
#   `tar | gzip -6` of the same bytes (the floor of any layer writer); its first push to a registry (alone), against
#   `skopeo copy` of the same image into a fresh registry;
#   push of a snapshot of those 10,000 files, and a workspace created from it in a fresh home (which pulls the
#   environment too), against `skopeo copy` of the same artifact into an OCI layout plus `tar -xzf` of its layers.
#   bench/travel.sh [ROUNDS]    (default 5; as root, for the workspace's disk)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}"
bash "$root/scripts/install-deps.sh" >/dev/null
. "$root/scripts/find-java.sh"
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
java="$DAVIT_JAVA_HOME/bin/java"
jar="$root/davit-cli/target/davit.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests -Ddavit.it.skip=true package -pl davit-cli -am)
work="${BENCH_WORK:-$root/bench/work}/travel"
rm -rf "$work"; mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp" \
  "$work/rootfs/etc" "$work/rootfs/opt"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true echo ls cat sleep head; do ln -sf busybox "$work/rootfs/bin/$a"; done
python3 - "$work" <<'PY'
import os, sys
w = sys.argv[1]
for i in range(10000):
    d = os.path.join(w, "seed", "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(("line %d\n" % i * 20).encode())
PY
davit_start_registry "$work/registry"; reg="127.0.0.1:$REGISTRY_PORT"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s%N; }
"$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$jar" "$root/bench/TravelBench.java" \
  "$work" "$work/rootfs" "$work/seed" "$reg" "$rounds" > "$work/out"
# peers: the same bytes on the host
mkdir -p "$work/peer/workspace" "$work/peer/opt"; cp -a "$work/seed/." "$work/peer/workspace/"
head -c 52428800 /dev/urandom > "$work/peer/opt/data.bin"
: > "$work/gzip"; : > "$work/pull"
for i in $(seq "$rounds"); do
  t0=$(now); tar -cf - -C "$work/peer" . | gzip -6 > /dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/gzip"
  rm -rf "$work/layout" "$work/x"; mkdir -p "$work/x"
  t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$reg/bench/proj:first" "oci:$work/layout:s" >/dev/null
  for l in $(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(' '.join(x['digest'].split(':')[1] for x in m['layers']))" \
      "$work/layout/blobs/sha256/$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['manifests'][0]['digest'].split(':')[1])" "$work/layout/index.json")"); do
    tar -xzf "$work/layout/blobs/sha256/$l" -C "$work/x"
  done
  t1=$(now); echo $(( (t1 - t0) / 1000000 )) >> "$work/pull"
done
davit_start_registry "$work/registry-peer"; peer="127.0.0.1:$REGISTRY_PORT"
t0=$(now)
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$reg/bench/committed:first" \
  "docker://$peer/bench/committed:first" >/dev/null
t1=$(now); skopeo_push=$(( (t1 - t0) / 1000000 ))
gz=$(median < "$work/gzip"); pull=$(median < "$work/pull")
row() { awk -v n="$1" '$1 == n {print $2 " / " $3}' "$work/out"; }
p50() { awk -v n="$1" '$1 == n {print $2}' "$work/out"; }
ratio() { python3 -c "print(f'{$1/max($2,1):.2f}')"; }
echo "| measurement (ms), $rounds rounds | davit p50 / p95 | peer | davit/peer |"
echo "|---|---|---|---|"
echo "| commit of a workspace: 10,000 files + 50 MB random in /opt (stored) | $(row commit) | $gz (\`tar \| gzip -6\` of the same bytes) | $(ratio "$(p50 commit)" "$gz") |"
echo "| first push of the committed image to an empty registry | $(row push-first) | $skopeo_push (\`skopeo copy\` of the image to a fresh registry) | $(ratio "$(p50 push-first)" "$skopeo_push") |"
echo "| commit and push again (layers there) | $(row commit-push-again) | | |"
echo "| snapshot push of the 10,000 files, first (with the environment) | $(row snapshot-push-first) | | |"
echo "| snapshot push again | $(row snapshot-push-again) | | |"
echo "| workspace from the snapshot in a fresh home (pulls the environment) | $(row create-from) | $pull (\`skopeo copy\` to a layout + \`tar -xzf\` of its layers) | $(ratio "$(p50 create-from)" "$pull") |"
