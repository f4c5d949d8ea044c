#!/usr/bin/env bash
# The CLI's fixed costs (issue 13), whole processes, each davit command and its peer alternating in every round:
#   1. `davit --version` vs `skopeo --version`
#   2. `davit run IMAGE -- true` (bwrap) vs raw `bwrap ... /bin/true` on the same root filesystem
#   3. warm `davit pull` (manifest and blobs already in the store) vs `skopeo inspect` of the same manifest
#   bench/cli.sh [ROUNDS]    (default 11; medians, all samples in bench/work/cli/*.ms)
# The image is a static busybox rootfs built by `davit build`, pushed to a throwaway registry and pulled and unpacked
# once before timing. To add a row, set up what it needs and call `row LABEL DAVIT-COMMAND PEER-NAME PEER-COMMAND`
# (commands are shell strings; PEER-NAME "-" for none) before the timing loop.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-11}"
bash "$root/scripts/install-deps.sh" >/dev/null
work="${BENCH_WORK:-$root/bench/work}/cli"
rm -rf "$work"; mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true echo; do ln -sf busybox "$work/rootfs/bin/$a"; done
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
davit_start_registry "$work/registry"
export DAVIT_HOME="$work/home"
davit="$root/davit"
ref="127.0.0.1:$REGISTRY_PORT/bench/busybox:1"
"$davit" build -q "$work/rootfs" "$ref" --push >/dev/null
rm -rf "$DAVIT_HOME"
"$davit" pull -q "$ref" >/dev/null
"$davit" run -q "$ref" -- true >/dev/null   # unpack once (and train the AOT cache if the jar is new)
rootfs=$(ls -d "$DAVIT_HOME"/rootfs/*/ | head -1)

labels=(); davits=(); peers=(); peercmds=()
row() { labels+=("$1"); davits+=("$2"); peers+=("$3"); peercmds+=("$4"); }
row '`davit --version`' '"$davit" --version' 'skopeo --version' 'skopeo --version'
row '`davit run IMAGE -- true` (bwrap)' '"$davit" run -q "$ref" --runtime bwrap -- true' 'raw bwrap' \
  'bwrap --unshare-all --die-with-parent --new-session --ro-bind "$rootfs" / --proc /proc --dev /dev --tmpfs /tmp --clearenv --chdir / -- /bin/true'
row 'warm `davit pull` (everything cached)' '"$davit" pull -q "$ref"' \
  'skopeo inspect (one manifest GET)' 'skopeo inspect --tls-verify=false --raw "docker://$ref"'

now() { date +%s%N; }
ms() { local t0 t1; t0=$(now); eval "$1" >/dev/null; t1=$(now); echo $(( (t1 - t0) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in "${!labels[@]}"; do : > "$work/davit-$i.ms"; : > "$work/peer-$i.ms"; done
for _ in $(seq "$rounds"); do
  for i in "${!labels[@]}"; do
    ms "${davits[$i]}" >> "$work/davit-$i.ms"
    [ "${peers[$i]}" = - ] || ms "${peercmds[$i]}" >> "$work/peer-$i.ms"
  done
done

java_version=$(. "$root/scripts/find-java.sh"; sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$DAVIT_JAVA_HOME/release")
echo "Run on $(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), JDK $java_version, rounds=$rounds."
echo
echo "| measurement, whole process, median of $rounds (ms) | davit | peer | peer (ms) | davit/peer |"
echo "|---|---|---|---|---|"
for i in "${!labels[@]}"; do
  d=$(median < "$work/davit-$i.ms")
  if [ "${peers[$i]}" = - ]; then
    echo "| ${labels[$i]} | $d | – | – | – |"
  else
    p=$(median < "$work/peer-$i.ms")
    echo "| ${labels[$i]} | $d | ${peers[$i]} | $p | $(python3 -c "print(f'{$d/max($p,1):.1f}')") |"
  fi
done
echo
for i in "${!labels[@]}"; do
  echo "${labels[$i]}: davit $(paste -sd, "$work/davit-$i.ms"); peer $(paste -sd, "$work/peer-$i.ms")"
done
