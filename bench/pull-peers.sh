#!/usr/bin/env bash
# Cold pulls against the peers (issue 55), whole processes, alternating in every round, from a loopback
# docker-registry: davit (a fresh home each time), skopeo (docker:// to oci:), crane (pull --format=oci) and regctl
# (image copy to ocidir://), and with BENCH_BASE another davit build (e.g. a checkout of main) in the same rounds.
# Two images: ~120 MiB in 6 gzip layers (as bench/cli.sh), and one gzip layer of ~500 MiB.
#   [BENCH_BASE=OTHER/davit] bench/pull-peers.sh [ROUNDS]   (default 7; medians of wall and CPU (user + sys) time)
# crane and regctl are built once from bench/peers/go.mod (pinned versions) into bench/work/peers/bin.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-7}"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
work="${BENCH_WORK:-$root/bench/work}/pull-peers"
bin="$root/bench/work/peers/bin"
davit="$root/davit"
base="${BENCH_BASE:-}"
bash "$root/scripts/install-deps.sh" >/dev/null
if [ ! -x "$bin/crane" ] || [ ! -x "$bin/regctl" ]; then
  mkdir -p "$bin"
  (cd "$root/bench/peers" && go build -trimpath -o "$bin/crane" github.com/google/go-containerregistry/cmd/crane \
    && go build -trimpath -o "$bin/regctl" github.com/regclient/regclient/cmd/regctl)
fi
rm -rf "$work"; mkdir -p "$work"
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
davit_start_registry "$work/registry"
port=$REGISTRY_PORT
imgs="$root/bench/work"
[ -d "$imgs/img120" ] || python3 "$root/bench/make-image.py" "$imgs/img120" cold 6 133 3 >&2
[ -d "$imgs/img500" ] || python3 "$root/bench/make-image.py" "$imgs/img500" big 1 500 5 >&2
skopeo copy -q --dest-tls-verify=false "oci:$imgs/img120:cold" "docker://127.0.0.1:$port/bench/six:1"
skopeo copy -q --dest-tls-verify=false "oci:$imgs/img500:big" "docker://127.0.0.1:$port/bench/one:1"
"$bin/regctl" registry set --tls disabled "127.0.0.1:$port" >/dev/null 2>&1

tools=(davit ${base:+base} skopeo crane regctl)
pull() {   # TOOL REF: one cold pull into a fresh directory of $work
  local out="$work/out-$1"; rm -rf "$out" "$work/home-$1"
  case "$1" in
    davit) DAVIT_HOME="$work/home-$1" "$davit" pull -q "$2" ;;
    base) DAVIT_HOME="$work/home-$1" "$base" pull -q "$2" ;;
    skopeo) skopeo copy -q --src-tls-verify=false "docker://$2" "oci:$out:x" ;;
    crane) "$bin/crane" pull --insecure --format=oci "$2" "$out" ;;
    regctl) "$bin/regctl" image copy "$2" "ocidir://$out:x" >/dev/null ;;
  esac
}
ms() {   # TOOL REF NAME: wall ms to NAME.ms, CPU ms to NAME.cpu
  local t0 t1 u s TIMEFORMAT='%3U %3S'
  t0=$(date +%s%N); { time pull "$1" "$2" >/dev/null 2>&3; } 3>&2 2>"$work/cpu.tmp"; t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/$3.ms"
  read -r u s < "$work/cpu.tmp"; echo $(( 10#${u/./} + 10#${s/./} )) >> "$work/$3.cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for t in "${tools[@]}"; do pull "$t" "127.0.0.1:$port/bench/six:1" >/dev/null; done   # warm-up (AOT caches, page cache)
for _ in $(seq "$rounds"); do
  for img in six one; do
    for t in "${tools[@]}"; do ms "$t" "127.0.0.1:$port/bench/$img:1" "$t-$img"; done
  done
done
echo "Cold pulls from a loopback docker-registry, median of $rounds alternating rounds; load $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after."
echo
echo "| image | $(printf '%s | ' "${tools[@]}")davit / skopeo |"
echo "|---|$(printf -- '---|%.0s' "${tools[@]}")---|"
for img in six one; do
  label=$([ "$img" = six ] && echo "~120 MiB, 6 layers" || echo "~500 MiB, 1 layer")
  line="| $label, wall (CPU) ms |"
  for t in "${tools[@]}"; do line+=" $(median < "$work/$t-$img.ms") ($(median < "$work/$t-$img.cpu")) |"; done
  d=$(median < "$work/davit-$img.ms"); p=$(median < "$work/skopeo-$img.ms")
  echo "$line $(python3 -c "print(f'{$d/max($p,1):.2f}')") |"
done
echo
for t in "${tools[@]}"; do for img in six one; do
  echo "$t $img wall: $(tr '\n' ' ' < "$work/$t-$img.ms")"
done; done
