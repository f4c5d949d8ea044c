#!/usr/bin/env bash
# The MCP server's weight and per-call latency:
#  - the jars `davit mcp serve` adds (the MCP SDK, reactor, the JSON schema validator, Jetty, the servlet API);
#  - start-up: from spawning `davit mcp serve` until it answers `initialize` (stdio);
#  - p50/p95 of `workspace_exec` of `true` in a warm container workspace and of a one-shot `run` of `true`, over
#    stdio in one server process, with the CLI equivalents (`davit workspace exec ID -- true`, `davit run IMAGE -- true`);
#  - p50/p95 of `workspace_file_write` and `workspace_file_read` of 1 KiB, and what reading a 10 GiB sparse file of the
#    sandbox's without max_bytes costs the server (time, and its peak RSS before and after);
#  - the size of `tools/list` per profile (run, core, full);
#  - p50/p95 of `workspace_create` (+ delete) of a cached image, empty and seeded with a small project (20 files);
#  - a `workspace_exec` printing 3 MB (time, result size) and one flooding 64 MiB on each stream (time, peak RSS).
#   bench/mcp.sh [ROUNDS]    (default 20)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-20}"
work="${BENCH_WORK:-$root/bench/work}/mcp"
rm -rf "$work"; mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true echo sleep truncate head tr; do ln -sf busybox "$work/rootfs/bin/$a"; done
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
davit_start_registry "$work/registry"
export DAVIT_HOME="$work/home"
ref="127.0.0.1:$REGISTRY_PORT/bench/busybox:1"
"$root/davit" build -q "$work/rootfs" "$ref" --push >/dev/null
rm -rf "$DAVIT_HOME"
"$root/davit" run -q "$ref" -- true >/dev/null   # pull + unpack once
echo "== jars added by the MCP server (davit-cli's runtime classpath)"
cp=$(cd "$root" && . scripts/find-java.sh && JAVA_HOME=$DAVIT_JAVA_HOME mvn -B -ntp -q -pl davit-cli -am \
  dependency:build-classpath -Dmdep.outputFile=/dev/stdout 2>/dev/null | tail -1)
tr ':' '\n' <<<"$cp" | grep -E 'modelcontextprotocol|reactor|reactive-streams|json-schema-validator|ethlo|jetty|servlet' \
  | while read -r j; do printf '%8d KiB  %s\n' $(( $(stat -c %s "$j") / 1024 )) "$(basename "$j")"; done \
  | tee /dev/stderr | awk '{s+=$1} END {printf "%8d KiB  in all\n", s}'
ls -l "$root"/davit-cli/target/davit.jar | awk '{printf "davit.jar (shaded): %d KiB\n", $5/1024}'
mkdir -p "$work/allowed/seed/src"
for i in $(seq 1 20); do printf 'line %s\n' $(seq 1 20) > "$work/allowed/seed/src/f$i.txt"; done
python3 - "$root/davit" "$ref" "$rounds" "$work/allowed" <<'PY'
import json, statistics, subprocess, sys, time
davit, ref, rounds, allowed = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
def show(name, xs):
    print(f"{name:44s} p50 {pct(xs, 50):7.1f} ms   p95 {pct(xs, 95):7.1f} ms   (n={len(xs)})")
starts = []
for _ in range(5):
    t0 = time.perf_counter()
    p = subprocess.Popen([davit, "mcp", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    p.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
                  b'"capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n'); p.stdin.flush()
    p.stdout.readline()
    starts.append((time.perf_counter() - t0) * 1000)
    p.stdin.close(); p.wait()
show("start-up until initialize is answered", starts)
p = subprocess.Popen([davit, "mcp", "serve", "--tools", "full", "--allow-path", allowed, "--max-workspaces", "50"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
n = [1]
def rpc(method, params=None):
    n[0] += 1
    msg = {"jsonrpc": "2.0", "id": n[0], "method": method}
    if params is not None: msg["params"] = params
    p.stdin.write((json.dumps(msg) + "\n").encode()); p.stdin.flush()
    while True:
        r = json.loads(p.stdout.readline())
        if r.get("id") == n[0]: return r
def tool(name, args):
    t0 = time.perf_counter(); r = rpc("tools/call", {"name": name, "arguments": args})
    assert "result" in r and not r["result"].get("isError"), r
    return (time.perf_counter() - t0) * 1000, r["result"]["structuredContent"]
rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}})
p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'); p.stdin.flush()
for profile in ("run", "core", "full"):
    q = subprocess.Popen([davit, "mcp", "serve", "--tools", profile], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    q.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
                  b'"capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n'
                  b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
                  b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'); q.stdin.flush()
    q.stdout.readline(); line = q.stdout.readline()
    print(f"tools/list, profile {profile:5s}: {len(json.loads(line)['result']['tools']):2d} tools, {len(line)} bytes")
    q.stdin.close(); q.wait()
for _ in range(2): tool("workspace_remove", {"workspace": tool("workspace_create", {"environment": ref})[1]["id"]})
def create(args):
    t, w = tool("workspace_create", args); tool("workspace_remove", {"workspace": w["id"]}); return t
show("MCP workspace_create (cached image, empty)", [create({"environment": ref}) for _ in range(rounds)])
show("MCP workspace_create (cached image, 20-file seed)", [create({"environment": ref, "seed": allowed + "/seed"})
     for _ in range(rounds)])
_, ws = tool("workspace_create", {"environment": ref})
wid = ws["id"]
for _ in range(3): tool("workspace_exec", {"workspace": wid, "command": ["true"]}); tool("run", {"environment": ref, "command": ["true"]})
show("MCP workspace_exec true (warm workspace)", [tool("workspace_exec", {"workspace": wid, "command": ["true"]})[0] for _ in range(rounds)])
show("MCP run true (one-shot container)", [tool("run", {"environment": ref, "command": ["true"]})[0] for _ in range(rounds)])
show("MCP workspace_file_write 1 KiB", [tool("workspace_file_write", {"workspace": wid, "path": "f.txt",
     "content": "x" * 1024})[0] for _ in range(rounds)])
show("MCP workspace_file_read 1 KiB", [tool("workspace_file_read", {"workspace": wid, "path": "f.txt"})[0]
     for _ in range(rounds)])
t0 = time.perf_counter()
r = rpc("tools/call", {"name": "workspace_exec", "arguments": {"workspace": wid, "command": ["sh", "-c",
        "i=0; while [ $i -lt 300000 ]; do echo 123456789; i=$((i+1)); done"]}})
print(f"MCP workspace_exec printing 3 MB: {(time.perf_counter() - t0) * 1000:.0f} ms, result"
      f" {len(json.dumps(r, ensure_ascii=False).encode())} bytes")
def hwm():
    for line in open(f"/proc/{p.pid}/status"):
        if line.startswith("VmHWM:"): return int(line.split()[1]) // 1024
before = hwm()
tool("workspace_exec", {"workspace": wid, "command": ["truncate", "-s", "10G", "big"]})
t0 = time.perf_counter()
r = rpc("tools/call", {"name": "workspace_file_read", "arguments": {"workspace": wid, "path": "big"}})
dt = (time.perf_counter() - t0) * 1000
refused = "error" in r or r.get("result", {}).get("isError")
print(f"MCP workspace_file_read of a 10 GiB sparse file, no max_bytes: {dt:.1f} ms, "
      f"{'refused' if refused else 'answered'}; server peak RSS {before} MB before, {hwm()} MB after")
t0 = time.perf_counter()
r = rpc("tools/call", {"name": "workspace_exec", "arguments": {"workspace": wid, "command": ["sh", "-c",
        "head -c 67108864 /dev/zero | tr '\\000' '\\001'; head -c 67108864 /dev/zero | tr '\\000' '\\002' >&2"]}})
print(f"MCP workspace_exec flooding 2 x 64 MiB of control bytes: {(time.perf_counter() - t0) * 1000:.0f} ms, result"
      f" {len(json.dumps(r, ensure_ascii=False).encode())} bytes; server peak RSS {hwm()} MB")
def cli(argv):
    t0 = time.perf_counter(); subprocess.run([davit, "-q"] + argv, check=True, stdout=subprocess.DEVNULL); return (time.perf_counter() - t0) * 1000
show("CLI davit workspace exec ID -- true", [cli(["workspace", "exec", wid, "--", "true"]) for _ in range(rounds)])
show("CLI davit run IMAGE -- true", [cli(["run", ref, "--", "true"]) for _ in range(rounds)])
tool("workspace_remove", {"workspace": wid})
p.stdin.close(); p.wait()
PY
