#!/usr/bin/env bash
# The CLI's fixed costs (issue 13), whole processes, each davit command and its peer alternating in every round:
#   1. `davit --version` vs `skopeo --version`
#   2. `davit run IMAGE -- true` (bwrap) vs raw `bwrap ... /bin/true` on the same root filesystem
#   3. warm `davit pull` (manifest and blobs already in the store) vs `skopeo inspect` of the same manifest
#   4. cold `davit pull` of a ~120 MiB, 6-layer gzip image (fresh store) vs `skopeo copy docker://... oci:DIR`
#   5. the download rate inside that pull (`downloaded_bytes` / `elapsed_ms` of `davit --json pull`), MB/s
#   6. max RSS of `davit --json run IMAGE -- sh -c 'yes 0123456789 | head -c 100000000'` (MB, GNU time)
#   7. the same with a flood on both streams (2 x 100 MB: the first and last 32 MiB of each shown)
#   8. the two-stream flood again with a 64 MiB heap (DAVIT_JAVA_OPTS=-Xmx64m): it must succeed
#   9. the two-stream flood as `davit --json workspace exec WS` (a workspace made once, before timing)
# Rows 6-9 are bounds, not only measurements (issue 34): the script exits 1, naming the row, when any sample of row 6
# passes 160 MB, of rows 7 and 9 256 MB, or row 8 fails (the excerpts must stay out of the heap, in their files).
#   [BENCH_BASE=OTHER/davit] bench/cli.sh [ROUNDS]    (default 11; medians, samples in bench/work/cli/*.ms)
# BENCH_BASE adds another build's launcher (e.g. a checkout of main), timed in the same rounds: before and after.
# The image is a static busybox rootfs built by `davit build`, pushed to a throwaway registry and pulled and unpacked
# once before timing. To add a row, set up what it needs and call `row LABEL DAVIT-COMMAND PEER-NAME PEER-COMMAND`
# (commands are shell strings; PEER-NAME "-" for none) before the timing loop.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-11}"
load0=$(cut -d' ' -f1-3 /proc/loadavg)   # the machine's load before the run, printed with the one after it
work="${BENCH_WORK:-$root/bench/work}/cli"
. "$root/bench/busybox.sh"
davit="$root/davit"
base="${BENCH_BASE:-}"   # another build's ./davit, timed in the same rounds (e.g. a checkout of main)
"$davit" pull -q "$ref" >/dev/null
"$davit" run -q "$ref" -- true >/dev/null   # unpack once (and train the AOT cache if the jar is new)
rootfs=$(ls -d "$DAVIT_HOME"/rootfs/*/ | head -1)
ws=$("$davit" workspace create -q "$ref")   # row 9's workspace, removed on exit with the registry
trap '"$davit" workspace rm "$ws" >/dev/null 2>&1 || true; davit_stop_registries' EXIT

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
  for l in "$davit" ${base:+"$base"}; do
    s=; [ "$l" = "$davit" ] || s=-base
    flood "$l" rss$s "$flood1" '' 2>>"$work/rss$s.err" || echo fail >> "$work/rss$s.mb"
    flood "$l" rss2$s "$flood2" y 2>>"$work/rss2$s.err" || echo fail >> "$work/rss2$s.mb"
    DAVIT_JAVA_OPTS=-Xmx64m flood "$l" rss64$s "$flood2" y 2>>"$work/rss64$s.err" || echo fail >> "$work/rss64$s.mb"
    flood "$l" wsrss$s "$flood2" y "$ws" 2>>"$work/wsrss$s.err" || echo fail >> "$work/wsrss$s.mb"
  done
}
flood1='yes 0123456789 | head -c 100000000'
flood2='yes 0123456789 | head -c 100000000 & yes 0123456789 | head -c 100000000 >&2; wait'
flood() {   # LAUNCHER NAME SCRIPT STDERR-TOO [WORKSPACE]: one --json run (or workspace exec) of a flood, its JSON
            # checked, its max RSS (MB) in $work/NAME.mb
  local to=(run "$ref"); [ -z "${5:-}" ] || to=(workspace exec "$5")
  /usr/bin/time -f %M -o "$work/$2.kb" "$1" --json "${to[@]}" -- sh -c "$3" > "$work/flood.json" || return 1
  python3 - "$work/flood.json" "$4" <<'PY' || return 1
import json, sys
d = json.load(open(sys.argv[1]))
n, keep = 100_000_000, 64 << 20   # the default --output-limit: the first and last 32 MiB of each stream
assert d["exit_code"] == 0 and d["truncated"], "bad flood JSON"
for s in ["stdout", "stderr"] if sys.argv[2] else ["stdout"]:
    t, line = d[s], f"\n[... davit: {n - keep} bytes of {s} left out here ...]\n"
    assert d[s + "_bytes"] == n and len(t) == keep + len(line) and t.startswith("0123456789\n"), "bad flood JSON (" + s + ")"
    assert t[keep // 2:keep // 2 + len(line)] == line and t.endswith("0123456789\n0"), "bad flood JSON (" + s + ")"
PY
  echo $(( $(sed -n '$p' "$work/$2.kb") / 1024 )) >> "$work/$2.mb"
}
now() { date +%s%N; }
ms() {   # COMMAND NAME: the command's wall time (ms) appended to $work/NAME.ms, its CPU time (user + sys, ms) to NAME.cpu
  local t0 t1 u s TIMEFORMAT='%3U %3S'
  t0=$(now); { time eval "$1" >/dev/null 2>&3; } 3>&2 2>"$work/cpu.tmp"; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/$2.ms"
  read -r u s < "$work/cpu.tmp"; echo $(( 10#${u/./} + 10#${s/./} )) >> "$work/$2.cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in "${!labels[@]}"; do for f in davit peer base; do : > "$work/$f-$i.ms"; : > "$work/$f-$i.cpu"; done; done
: > "$work/rate.mb"; : > "$work/rate-base.mb"
for f in rss rss2 rss64 wsrss; do : > "$work/$f.mb"; : > "$work/$f-base.mb"; : > "$work/$f.err"; : > "$work/$f-base.err"; done
if [ -n "$base" ]; then "$base" run -q "$ref" -- true >/dev/null; fi   # its AOT cache, if its jar is new
for _ in $(seq "$rounds"); do
  for i in "${!labels[@]}"; do
    ms "${davits[$i]}" "davit-$i"
    [ -z "$base" ] || ms "${davits[$i]//\"\$davit\"/\"\$base\"}" "base-$i"
    [ "${peers[$i]}" = - ] || ms "${peercmds[$i]}" "peer-$i"
  done
  metric_rounds
done

java_version=$(. "$root/scripts/find-java.sh"; sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$DAVIT_JAVA_HOME/release")
echo "Run on $(date -u +%F), $(nproc) cores, load $load0 before and $(cut -d' ' -f1-3 /proc/loadavg) after, JDK $java_version, rounds=$rounds."
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
echo
echo "| the same rows' CPU time (user + sys of the whole process), median of $rounds (ms) |${base:+ base build |} davit | peer (ms) | davit/peer |"
echo "|---|${base:+---|}---|---|---|"
for i in "${!labels[@]}"; do
  [ "${peers[$i]}" = - ] && continue
  d=$(median < "$work/davit-$i.cpu"); p=$(median < "$work/peer-$i.cpu")
  echo "| ${labels[$i]} |${base:+ $(median < "$work/base-$i.cpu") |} $d | $p | $(python3 -c "print(f'{$d/max($p,1):.2f}')") |"
done
echo
echo "| measurement |${base:+ base build |} davit | peer | peer value | davit/peer |"
echo "|---|${base:+---|}---|---|---|---|"
echo "| download rate inside the cold pull (MB/s, median) |${base:+ $(median < "$work/rate-base.mb") |} $(median < "$work/rate.mb") | loopback limit | ≈ 2500 | – |"
b() { [ -z "$base" ] || echo " $(median < "$work/$1-base.mb") |"; }   # the base build's median of metric $1
echo "| \`davit --json run IMAGE -- sh -c 'yes 0123456789 \\| head -c 100000000'\`, max RSS (MB, median; bound 160) |$(b rss) $(median < "$work/rss.mb") | – | – | – |"
echo "| the same, a flood on both streams (\`... & yes 0123456789 \| head -c 100000000 >&2\`), max RSS (MB, median; bound 256) |$(b rss2) $(median < "$work/rss2.mb") | – | – | – |"
echo "| the two-stream flood with \`-Xmx64m\`, max RSS (MB, median; must succeed) |$(b rss64) $(median < "$work/rss64.mb") | – | – | – |"
echo "| the two-stream flood as \`davit --json workspace exec WS\`, max RSS (MB, median; bound 256) |$(b wsrss) $(median < "$work/wsrss.mb") | – | – | – |"
echo
echo "rate MB/s: $(paste -sd, "$work/rate.mb")${base:+ (base $(paste -sd, "$work/rate-base.mb"))}"
for f in rss rss2 rss64 wsrss; do
  echo "$f MB: $(paste -sd, "$work/$f.mb")${base:+ (base $(paste -sd, "$work/$f-base.mb"))}"
done
for i in "${!labels[@]}"; do
  for u in ms cpu; do
    echo "${labels[$i]} ($u): davit $(paste -sd, "$work/davit-$i.$u"); peer $(paste -sd, "$work/peer-$i.$u")${base:+; base $(paste -sd, "$work/base-$i.$u")}"
  done
done
# the bounds (issue 34): every sample of this build, loudly
bad=
bound() {   # METRIC MB WHAT: every sample of this build's METRIC at most MB (0: only none failed)
  awk -v mb="$2" '$1 == "fail" || (mb > 0 && $1 > mb) { exit 1 }' "$work/$1.mb" ||
    bad+="$3 ($(paste -sd, "$work/$1.mb") MB; $(head -c 300 "$work/$1.err" | tr '\n' ' ')); "
}
bound rss 160 "the one-stream flood failed or passed 160 MB of RSS"
bound rss2 256 "the two-stream flood failed or passed 256 MB of RSS"
bound rss64 0 "the two-stream flood failed with -Xmx64m"
bound wsrss 256 "the two-stream workspace exec flood failed or passed 256 MB of RSS"
if [ -n "$bad" ]; then
  echo "bench/cli.sh: REGRESSION: ${bad%; } (docs/reference/benchmarks/CLI.md, issue 34)" >&2
  exit 1
fi
