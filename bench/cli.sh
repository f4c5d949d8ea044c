#!/usr/bin/env bash
# The CLI's fixed costs (issue 13), whole processes, each davit command and its peer alternating in every round:
#   1. `davit --version` vs `skopeo --version`
#   2. `davit run IMAGE -- true` (bwrap) vs raw `bwrap ... /bin/true` on the same root filesystem
#   3. warm `davit pull` (manifest and blobs already in the store) vs `skopeo inspect` of the same manifest
#   4. cold `davit pull` of a ~120 MiB, 6-layer gzip image (fresh store) vs `skopeo copy docker://... oci:DIR`
#   5. the download rate inside that pull (`downloaded_bytes` / `elapsed_ms` of `davit --json pull`), MB/s
#   6. max RSS of `davit --json run IMAGE -- sh -c 'yes | head -c 100000000'` (MB, GNU time)
#   7. the same with a flood on both streams (2 x 100 MB: 64 MiB of each captured)
#   [BENCH_BASE=OTHER/davit] bench/cli.sh [ROUNDS]    (default 11; medians, samples in bench/work/cli/*.ms)
# BENCH_BASE adds another build's launcher (e.g. a checkout of main), timed in the same rounds: before and after.
# The image is a static busybox rootfs built by `davit build`, pushed to a throwaway registry and pulled and unpacked
# once before timing. To add a row, set up what it needs and call `row LABEL DAVIT-COMMAND PEER-NAME PEER-COMMAND`
# (commands are shell strings; PEER-NAME "-" for none) before the timing loop.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-11}"
work="${BENCH_WORK:-$root/bench/work}/cli"
. "$root/bench/busybox.sh"
davit="$root/davit"
base="${BENCH_BASE:-}"   # another build's ./davit, timed in the same rounds (e.g. a checkout of main)
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
# rows 4-6: a ~120 MiB image (make-image.py: 6 gzip layers, mostly random bytes) in the same registry
[ -d "$work/../img120" ] || python3 "$root/bench/make-image.py" "$work/../img120" cold 6 133 3 >&2
skopeo copy -q --dest-tls-verify=false "oci:$work/../img120:cold" "docker://127.0.0.1:$port/bench/cold:1"
cold="127.0.0.1:$port/bench/cold:1"
row 'cold `davit pull` of ~120 MiB, 6 layers (fresh store)' \
  'rm -rf "$work/cold-home"; DAVIT_HOME="$work/cold-home" "$davit" pull -q "$cold"' \
  'skopeo copy docker:// oci:' 'rm -rf "$work/skopeo-out"; skopeo copy -q --src-tls-verify=false "docker://$cold" "oci:$work/skopeo-out:x"'

# Rows 5 and 6 are values, not times: each round records one (MB/s, MB) in $work/rate.mb and $work/rss.mb.
rate() {   # LAUNCHER: one cold --json pull, its download rate in MB/s
  rm -rf "$work/rate-home"
  DAVIT_HOME="$work/rate-home" "$1" --json pull "$cold" | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(int(d["downloaded_bytes"] / max(d["elapsed_ms"], 1) / 1000))'
}
metric_rounds() {
  rate "$davit" >> "$work/rate.mb"
  [ -z "$base" ] || rate "$base" >> "$work/rate-base.mb"
  flood rss 'yes | head -c 100000000' ''
  flood rss2 'yes | head -c 100000000 & yes | head -c 100000000 >&2; wait' y
}
flood() {   # NAME SCRIPT STDERR-TOO: one --json run of a flood, its JSON checked, its max RSS (MB) in $work/NAME.mb
  /usr/bin/time -f %M -o "$work/$1.kb" "$davit" --json run "$ref" -- sh -c "$2" > "$work/flood.json"
  python3 - "$work/flood.json" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["exit_code"] == 0 and d["truncated"] and len(d["stdout"]) == 64 << 20 and set(d["stdout"]) == {"y", "\n"}, "bad flood JSON"
assert not sys.argv[2] or d["stderr"] == d["stdout"], "bad flood JSON (stderr)"
PY
  echo $(( $(cat "$work/$1.kb") / 1024 )) >> "$work/$1.mb"
}
now() { date +%s%N; }
ms() { local t0 t1; t0=$(now); eval "$1" >/dev/null; t1=$(now); echo $(( (t1 - t0) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in "${!labels[@]}"; do : > "$work/davit-$i.ms"; : > "$work/peer-$i.ms"; : > "$work/base-$i.ms"; done
: > "$work/rate.mb"; : > "$work/rate-base.mb"; : > "$work/rss.mb"; : > "$work/rss2.mb"
if [ -n "$base" ]; then "$base" run -q "$ref" -- true >/dev/null; fi   # its AOT cache, if its jar is new
for _ in $(seq "$rounds"); do
  for i in "${!labels[@]}"; do
    ms "${davits[$i]}" >> "$work/davit-$i.ms"
    [ -z "$base" ] || ms "${davits[$i]//\"\$davit\"/\"\$base\"}" >> "$work/base-$i.ms"
    [ "${peers[$i]}" = - ] || ms "${peercmds[$i]}" >> "$work/peer-$i.ms"
  done
  metric_rounds
done

java_version=$(. "$root/scripts/find-java.sh"; sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$DAVIT_JAVA_HOME/release")
echo "Run on $(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), JDK $java_version, rounds=$rounds."
echo
echo "| measurement, whole process, median of $rounds (ms) |${base:+ base build |} davit | peer | peer (ms) | davit/peer |"
echo "|---|${base:+---|}---|---|---|---|"
for i in "${!labels[@]}"; do
  d=$(median < "$work/davit-$i.ms")
  b=${base:+ $(median < "$work/base-$i.ms") |}
  if [ "${peers[$i]}" = - ]; then
    echo "| ${labels[$i]} |$b $d | – | – | – |"
  else
    p=$(median < "$work/peer-$i.ms")
    echo "| ${labels[$i]} |$b $d | ${peers[$i]} | $p | $(python3 -c "print(f'{$d/max($p,1):.1f}')") |"
  fi
done
echo "| download rate inside the cold pull (MB/s, median) |${base:+ $(median < "$work/rate-base.mb") |} $(median < "$work/rate.mb") | loopback limit | ≈ 2500 | – |"
echo "| \`davit --json run IMAGE -- sh -c 'yes \\| head -c 100000000'\`, max RSS (MB, median) |${base:+ – |} $(median < "$work/rss.mb") | – | – | – |"
echo "| the same, a flood on both streams (\`... & yes \| head -c 100000000 >&2\`), max RSS (MB, median) |${base:+ – |} $(median < "$work/rss2.mb") | – | – | – |"
echo
echo "rate MB/s: $(paste -sd, "$work/rate.mb")${base:+ (base $(paste -sd, "$work/rate-base.mb"))}; max RSS MB: $(paste -sd, "$work/rss.mb"); two streams: $(paste -sd, "$work/rss2.mb")"
for i in "${!labels[@]}"; do
  echo "${labels[$i]}: davit $(paste -sd, "$work/davit-$i.ms"); peer $(paste -sd, "$work/peer-$i.ms")${base:+; base $(paste -sd, "$work/base-$i.ms")}"
done
