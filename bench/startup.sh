#!/usr/bin/env bash
# Start-up of short commands (issue 55), whole processes, this build and BENCH_BASE's alternating in every round:
#   run      `davit run IMAGE -- true` of a cached busybox image (container, default limits)
#   exec     `davit workspace exec WS -- true` (a workspace made once, before timing)
#   pull     `davit pull IMAGE` of an image in the store (a warm pull: one manifest request)
#   version  `davit --version`
# For each: wall and CPU (user + sys, the whole process tree) medians, and for `run` the medians of the trace's marks
# (-Ddavit.trace=true: JVM start to main, root model, command model, parse, image resolved, spec, the sandbox's own
# create/start/exec/delete). Once per build, outside the timing: the programs each command executes (strace -f -e
# execve, failed PATH lookups not counted) and the classes the JVM loaded from outside its AOT cache.
#   [BENCH_BASE=OTHER/davit] bench/startup.sh [ROUNDS]   (default 11; samples in bench/work/startup/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-11}"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
work="${BENCH_WORK:-$root/bench/work}/startup"
. "$root/bench/busybox.sh"
davit="$root/davit"
base="${BENCH_BASE:-}"
launchers=("$davit"); [ -z "$base" ] || launchers+=("$base")
"$davit" pull -q "$ref" >/dev/null
for l in "${launchers[@]}"; do
  "$l" run -q "$ref" -- true >/dev/null   # unpack once, and train each build's AOT cache
done
ws=$("$davit" workspace create -q "$ref")
trap '"$davit" workspace rm "$ws" >/dev/null 2>&1 || true; davit_stop_registries' EXIT
for l in "${launchers[@]}"; do "$l" workspace exec "$ws" -- true >/dev/null; done

python3 - "$rounds" "$work" "$ref" "$ws" "$load0" "${launchers[@]}" <<'EOF'
import json, os, re, resource, statistics, subprocess, sys, time
rounds, work, ref, ws, load0 = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
launchers = sys.argv[6:]
names = ["this build", "base"][:len(launchers)]
rows = {"run": ["run", "-q", ref, "--", "true"], "exec": ["workspace", "exec", ws, "--", "true"],
        "warm pull": ["pull", "-q", ref], "version": ["--version"]}
marks = ["main", "root model", "command model built", "parsed", "run: options checked", "image: parsed",
         "image: resolved", "run: spec built", "run: sandbox done"]
def once(cmd, env=None):
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    t1 = time.perf_counter(); ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"startup: {' '.join(cmd)} exited {p.returncode}: {p.stderr.decode()[-400:]}")
    return (t1 - t0) * 1000, (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime) * 1000, p.stderr.decode()
wall = {(n, r): [] for n in names for r in rows}; cpu = {(n, r): [] for n in names for r in rows}
trace = {(n, m): [] for n in names for m in marks + ["create", "start", "exec", "delete"]}
traced = dict(os.environ, DAVIT_JAVA_OPTS=(os.environ.get("DAVIT_JAVA_OPTS", "") + " -Ddavit.trace=true").strip())
for i in range(rounds):
    for n, l in zip(names, launchers):
        for r, args in rows.items():
            w, c, _ = once([l] + args); wall[n, r].append(w); cpu[n, r].append(c)
        _, _, err = once([l] + rows["run"], traced)
        for line in err.splitlines():
            m = re.match(r"davit: trace:\s+[\d.]+ ms \(\+\s*([\d.]+)\) (.*)", line)
            if not m:
                continue
            label = m.group(2)
            for k in marks:
                if label == k or label.startswith(k + " "):
                    trace[n, k].append(float(m.group(1)))
            if label.startswith("run: sandbox done "):
                d = json.loads(label[len("run: sandbox done "):])
                for k in ("create", "start", "exec", "delete"):
                    trace[n, k].append(d[k])
os.makedirs(work, exist_ok=True)
with open(os.path.join(work, "samples.json"), "w") as f:
    json.dump({"wall": {f"{n}/{r}": v for (n, r), v in wall.items()},
               "cpu": {f"{n}/{r}": v for (n, r), v in cpu.items()}}, f)
med = lambda v: statistics.median(v) if v else float("nan")
print(f"rounds: {rounds}; load before {load0}, after {' '.join(open('/proc/loadavg').read().split()[:3])}\n")
print("| command | " + " | ".join(f"{n}: wall / CPU (ms)" for n in names) + " |")
print("|---|" + "---|" * len(names))
for r in rows:
    print(f"| {r} | " + " | ".join(f"{med(wall[n, r]):.0f} / {med(cpu[n, r]):.0f}" for n in names) + " |")
print("\n`run` trace marks, medians (ms):\n")
print("| mark | " + " | ".join(names) + " |")
print("|---|" + "---|" * len(names))
for k in marks + ["create", "start", "exec", "delete"]:
    print(f"| {k} | " + " | ".join(f"{med(trace[n, k]):.1f}" for n in names) + " |")
# once per build: programs executed and classes from outside the AOT cache
print("\n| once | " + " | ".join(names) + " |")
print("|---|" + "---|" * len(names))
for r in ("run", "exec"):
    counts = []
    for l in launchers:
        out = os.path.join(work, "strace.txt")
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", out, l] + rows[r],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        ok = [x for x in open(out) if "execve(" in x and "= 0" in x and "jspawnhelper" not in x]
        counts.append(str(len(ok)))
    print(f"| programs executed by `{r}` (the JVM's spawn helper not counted) | " + " | ".join(counts) + " |")
counts = []
for l in launchers:
    log = os.path.join(work, "classes.txt")
    env = dict(os.environ, DAVIT_JAVA_OPTS=f"-Xlog:class+load=info:file={log}")
    subprocess.run([l] + rows["run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    counts.append(str(sum(1 for x in open(log) if "[class,load]" in x and "shared objects file" not in x)))
print("| classes `run` loads from outside the AOT cache | " + " | ".join(counts) + " |")
EOF
