#!/usr/bin/env bash
# Wire size of microVM environments: `davit env build` of the busybox profile (and, as root with the Debian mirror
# reachable, the git profile), then the container image and the microVM artifact pushed to a throwaway registry.
#   bench/vmwire.sh [PROFILE...]     (default: busybox, plus git when root)
# Sizes are what the registry's manifest names (config + layers, what a pull transfers, without the manifest).
# "raw" is the microVM artifact as it was stored before compression: the files' own sizes, from the layers'
# dev.davit.uncompressed.size annotations. Then a fresh home pulls and installs the artifact (`davit run REF --
# true` once, timed: pull + decompress + boot) and the disk use of the decompressed files is reported.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh" >/dev/null
. "$root/scripts/find-java.sh"
export JAVA_HOME="$DAVIT_JAVA_HOME"
[ -f "$root/davit-cli/target/davit.jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests package -pl davit-cli -am)
work="${BENCH_WORK:-$root/bench/work}/vmwire"
rm -rf "$work"; mkdir -p "$work"
profiles=("$@")
if [ ${#profiles[@]} -eq 0 ]; then
  profiles=(busybox)
  if [ "$(id -u)" = 0 ] && curl -fsI -m 10 http://deb.debian.org/debian/dists/bookworm/Release >/dev/null; then
    profiles+=(git)
  fi
fi
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
davit_start_registry "$work/registry"; port=$REGISTRY_PORT
export DAVIT_VM_CACHE="${DAVIT_VM_CACHE:-$HOME/.cache/davit-test/vm}" SOURCE_DATE_EPOCH=1767225600
mb() { python3 -c "print(f'{$1/1e6:.1f}')"; }
# sizes REPO TAG -> "wire raw": config + layer sizes, and config + uncompressed layer sizes
sizes() {
  curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$port/v2/$1/manifests/$2" | python3 -c '
import json, sys
m = json.load(sys.stdin)
wire = m["config"]["size"] + sum(l["size"] for l in m["layers"])
raw = m["config"]["size"] + sum(int(l.get("annotations", {}).get("dev.davit.uncompressed.size", l["size"]))
                                for l in m["layers"])
print(wire, raw)'
}
echo "| profile | container image | microVM raw (before) | microVM zstd (after) | after / image | build | run REF in a fresh home (pull, decompress, boot) | installed files: size / allocated |"
echo "|---|---|---|---|---|---|---|---|"
for p in "${profiles[@]}"; do
  export DAVIT_HOME="$work/home-$p"
  t0=$(date +%s)
  "$root/davit" env build "$p" --version 1 >"$work/build-$p.log" 2>&1
  t1=$(date +%s)
  "$root/davit" push -q "localhost/davit/$p:1" "127.0.0.1:$port/envs/$p:1" >/dev/null
  "$root/davit" push -q "localhost/davit/$p-vm:1" "127.0.0.1:$port/envs/$p-vm:1" >/dev/null
  read -r image _ < <(sizes "envs/$p" 1)
  read -r vm raw < <(sizes "envs/$p-vm" 1)
  export DAVIT_HOME="$work/fresh-$p"
  r0=$(date +%s%N)
  "$root/davit" run "127.0.0.1:$port/envs/$p-vm:1" --memory 512 -- true >"$work/run-$p.log" 2>&1
  r1=$(date +%s%N)
  files=$(du -sb "$DAVIT_HOME"/vm/*/ | cut -f1); used=$(( $(du -sk "$DAVIT_HOME"/vm/*/ | cut -f1) * 1024 ))
  echo "| $p | $(mb "$image") MB | $(mb "$raw") MB | $(mb "$vm") MB | $(python3 -c "print(f'{$vm/$image:.2f}')")× |" \
    "$((t1 - t0)) s | $(( (r1 - r0) / 1000000 )) ms | $(mb "$files") MB / $(mb "$used") MB |"
done
