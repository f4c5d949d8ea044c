#!/usr/bin/env bash
# davit's pull benchmark against skopeo, measured in the same run on the same loopback registry.
#   bench/run.sh [ROUNDS]        (default 5)
# Generates a ~300 MB, 6-layer gzip image and a 1 GB image, pushes them to a throwaway docker-registry on
# 127.0.0.1, then alternates cold whole-process pulls: `davit pull` vs `skopeo copy docker://... oci:...`.
# Also: a warm davit pull (everything cached), a 1 GB pull with -Xmx64m, and the HTTP client comparison.
# Prints a Markdown table; paste it into docs/reference/BENCHMARKS.md (the latest run) or its page under docs/reference/benchmarks/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}"
bash "$root/scripts/install-deps.sh" >/dev/null
. "$root/scripts/find-java.sh"
export JAVA_HOME="$DAVIT_JAVA_HOME"
[ -f "$root/davit-cli/target/davit.jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests package -pl davit-cli -am)
work="${BENCH_WORK:-$root/bench/work}"
mkdir -p "$work"
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
davit_start_registry "$work/registry"
port=$REGISTRY_PORT

[ -d "$work/img300" ] || python3 "$root/bench/make-image.py" "$work/img300" big 6 300 1 >&2
[ -d "$work/img1g" ] || python3 "$root/bench/make-image.py" "$work/img1g" huge 8 1024 2 >&2
skopeo copy -q --dest-tls-verify=false "oci:$work/img300:big" "docker://127.0.0.1:$port/bench/big:1"
skopeo copy -q --dest-tls-verify=false "oci:$work/img1g:huge" "docker://127.0.0.1:$port/bench/huge:1"
ref="127.0.0.1:$port/bench/big:1"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/davit.ms"; : > "$work/skopeo.ms"
for i in $(seq "$rounds"); do
  rm -rf "$work/home" "$work/skopeo-out"
  t0=$(now); DAVIT_HOME="$work/home" "$root/davit" pull -q "$ref" >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/davit.ms"
  t0=$(now); skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/skopeo-out:big" >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/skopeo.ms"
done
d=$(median < "$work/davit.ms"); s=$(median < "$work/skopeo.ms")
t0=$(now); DAVIT_HOME="$work/home" "$root/davit" pull -q "$ref" >/dev/null; t1=$(now); warm=$(( (t1 - t0) / 1000000 ))
rm -rf "$work/home-1g"
t0=$(now); DAVIT_JAVA_OPTS=-Xmx64m DAVIT_HOME="$work/home-1g" "$root/davit" pull -q "127.0.0.1:$port/bench/huge:1" >/dev/null; t1=$(now)
big=$(( (t1 - t0) / 1000000 ))
rm -rf "$work/skopeo-1g"
t0=$(now); skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$port/bench/huge:1" "oci:$work/skopeo-1g:huge" >/dev/null; t1=$(now)
big_s=$(( (t1 - t0) / 1000000 ))
digests=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(' '.join(l['digest'] for l in m['layers']))" \
  "$work/img300/blobs/sha256/$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['manifests'][0]['digest'].split(':')[1])" "$work/img300/index.json")")
http=$("$JAVA_HOME/bin/java" "$root/bench/HttpClientBench.java" "http://127.0.0.1:$port" bench/big "$rounds" $digests 2>/dev/null)
size=$(du -sb "$work/img300/blobs" | cut -f1)
ratio=$(python3 -c "print(f'{$d/$s:.2f}')")
cat <<MD
Run on $(date -u +%Y-%m-%d), $(nproc) cores, $(java_v=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1); echo "$java_v"), $(skopeo --version), rounds=$rounds, image $((size / 1000000)) MB in 6 gzip layers.

| measurement | davit | skopeo | davit/skopeo |
|---|---|---|---|
| cold pull, ~300 MB, median of $rounds (ms) | $d | $s | $ratio |
| warm pull, everything cached (ms) | $warm | – | – |
| cold pull of 1 GB, davit with -Xmx64m (ms) | $big | $big_s | $(python3 -c "print(f'{$big/$big_s:.2f}')") |

HTTP clients, 6 blobs (~300 MB) fetched 6 in parallel and hashed, median of $rounds:

\`\`\`
$http
\`\`\`
MD
