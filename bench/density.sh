#!/usr/bin/env bash
# Density (issue 55 item 3): what each more workspace costs, on the container backend, with and without an egress
# policy. Creates workspaces one by one up to each checkpoint (default 1 10 50 100 200) and records, at each:
#   the create time of the last one (whole `davit workspace create` process, ms),
#   the processes of the home's sandboxes (their keepers, gates and what runs under them),
#   their memory: the sum of PSS (/proc/PID/smaps_rollup, kB → MiB) of those processes.
#   [BENCH_BASE=OTHER/davit] bench/density.sh [CHECKPOINTS...]   (as root; a policy workspace starts a gate JVM)
# The policy is --allow-host example.com (nothing is reached: the gate's cost alone). Workspaces are removed on exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
checkpoints=("${@:-1 10 50 100 200}")
read -r -a checkpoints <<< "${checkpoints[*]}"
work="${BENCH_WORK:-$root/bench/work}/density"
. "$root/bench/busybox.sh"
davit="${BENCH_BASE:-$root/davit}"
"$davit" pull -q "$ref" >/dev/null
rmall() {
  for w in $("$davit" --json workspace ls 2>/dev/null | python3 -c 'import json,sys; [print(w["id"]) for w in json.load(sys.stdin)["workspaces"]]' 2>/dev/null); do
    "$davit" -q workspace rm "$w" >/dev/null 2>&1 || true
  done
}
trap 'rmall; davit_stop_registries' EXIT
# the home's sandbox processes: every process whose cwd or command line names the home's sandboxes directory, and
# their descendants
procs() {
  python3 - "$DAVIT_HOME" <<'PY'
import os, sys
home = os.path.realpath(sys.argv[1])
kids, mine = {}, set()
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(p))
        cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        cwd = os.readlink(f"/proc/{p}/cwd") if os.path.exists(f"/proc/{p}/cwd") else ""
        if home in cmd or cwd.startswith(home):
            mine.add(int(p))
    except (OSError, IndexError, ValueError):
        pass
todo = list(mine)
while todo:
    for k in kids.get(todo.pop(), []):
        if k not in mine:
            mine.add(k); todo.append(k)
pss = 0
for p in mine:
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
    except OSError:
        pass
print(len(mine), pss // 1024)
PY
}
echo "| workspaces | policy | create of the last (ms) | sandbox processes | their PSS (MiB) | PSS per workspace (MiB) |"
echo "|---|---|---|---|---|---|"
for policy in none example.com; do
  rmall
  n=0
  for c in "${checkpoints[@]}"; do
    while [ "$n" -lt "$c" ]; do
      n=$((n + 1))
      args=(workspace create -q "$ref"); [ "$policy" = none ] || args+=(--allow-host "$policy")
      t0=$(date +%s%N); "$davit" "${args[@]}" >/dev/null; t1=$(date +%s%N)
    done
    sleep 2   # what starts with a workspace has settled
    read -r np pss < <(procs)
    echo "| $n | $policy | $(( (t1 - t0) / 1000000 )) | $np | $pss | $(python3 -c "print(f'{$pss/$n:.1f}')") |"
  done
done
