#!/usr/bin/env bash
# The MCP server's time per tool call, this build against an older one (BASE_JAR=path/to/an/older/davit.jar) in the
# same run: two `davit mcp serve` processes (stdio, --tools full) side by side on one davit home, each with a warm
# container workspace of a cached image; the rounds alternate between them, so both see the same machine. Rows:
# workspace_exec of `true`, workspace_file_write and workspace_file_read of 1 KiB, workspace_file_list of a
# 20-file directory, workspace_status, workspace_diff of one changed file, workspace_snapshot_list, and an unknown
# workspace (an error result). Each row is the call's round trip as the client sees it (request written to answer
# read); the server's part is all of it but a pipe's write and read, and the sandbox's own time for exec.
# BACKEND=k8s: the workspaces are pods of the cluster of scripts/cluster.sh (which must be up; namespace davit-bench),
# the servers run with --backend k8s.
#   [BACKEND=k8s] BASE_JAR=... bench/mcp-calls.sh [ROUNDS]    (default 30)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-30}"
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
work="${BENCH_WORK:-$root/bench/work}/mcp-calls"
. "$root/bench/busybox.sh"
backend="${BACKEND:-container}"
if [ "$backend" = k8s ]; then
  set -a; . "${DAVIT_CLUSTER_STATE:-/var/lib/davit-cluster}/cluster.env"; set +a
  export DAVIT_K8S_REGISTRY="$DAVIT_CLUSTER_REGISTRY" DAVIT_K8S_NAMESPACE=davit-bench
  bash "$root/scripts/cluster.sh" kubectl create namespace davit-bench >/dev/null 2>&1 || true
fi
"$root/davit" run -q "$ref" -- true >/dev/null   # pull + unpack once
mkdir -p "$work/allowed/seed/src"
for i in $(seq 1 20); do printf 'line %s\n' $(seq 1 20) > "$work/allowed/seed/src/f$i.txt"; done
jar="$root/davit-cli/target/davit.jar"
python3 - "$java" "$jar" "${BASE_JAR:-}" "$ref" "$rounds" "$work/allowed" "$backend" <<'PY'
import json, subprocess, sys, time
java, jar, base, ref, rounds, allowed, backend = sys.argv[1:8]
rounds = int(rounds)
opts = ["-XX:+UseSerialGC", "-Xss512k", "-Xmn16m", "-Xmx512m", "--enable-native-access=ALL-UNNAMED"]
class Server:
    def __init__(self, name, jar):
        self.name, self.n, self.times = name, 0, {}
        self.p = subprocess.Popen([java] + opts + ["-cp", jar, "dev.davit.cli.Main", "mcp", "serve", "--tools", "full",
                                  "--allow-path", allowed, "--max-workspaces", "50", "--backend", backend],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                "clientInfo": {"name": "bench", "version": "1"}})
        self.p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'); self.p.stdin.flush()
        _, w = self.tool("workspace_create", {"environment": ref, "seed": allowed + "/seed"})
        self.ws = w["id"]
        self.tool("workspace_file_write", {"workspace": self.ws, "path": "src/f1.txt", "content": "changed\n"})
    def rpc(self, method, params):
        self.n += 1
        self.p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params})
                            + "\n").encode()); self.p.stdin.flush()
        while True:
            r = json.loads(self.p.stdout.readline())
            if r.get("id") == self.n: return r
    def tool(self, name, args, error=False):
        t0 = time.perf_counter(); r = self.rpc("tools/call", {"name": name, "arguments": args})
        assert "result" in r and bool(r["result"].get("isError")) == error, (self.name, r)
        return (time.perf_counter() - t0) * 1000, r["result"].get("structuredContent")
    def timed(self, label, name, args, error=False):
        self.times.setdefault(label, []).append(self.tool(name, args, error)[0])
    def close(self):
        self.tool("workspace_remove", {"workspace": self.ws})
        self.p.stdin.close(); self.p.wait()
servers = [Server("this build", jar)]
if base:
    servers.append(Server("previous build", base))
def cases(s):
    w = s.ws
    return [("workspace_exec true", "workspace_exec", {"workspace": w, "command": ["true"]}, False),
            ("workspace_file_write 1 KiB", "workspace_file_write", {"workspace": w, "path": "f.txt",
                                                                     "content": "x" * 1024}, False),
            ("workspace_file_read 1 KiB", "workspace_file_read", {"workspace": w, "path": "f.txt"}, False),
            ("workspace_file_list (20 files)", "workspace_file_list", {"workspace": w, "path": "src"}, False),
            ("workspace_status", "workspace_status", {"workspace": w}, False),
            ("workspace_diff (1 file changed)", "workspace_diff", {"workspace": w, "paths": ["src"]}, False),
            ("workspace_snapshot_list", "workspace_snapshot_list", {"workspace": w}, False),
            ("unknown workspace (error result)", "workspace_status", {"workspace": "no-such-ws"}, True)]
for s in servers:   # warm-up: JIT
    for _ in range(5):
        for label, name, args, error in cases(s):
            s.tool(name, args, error)
for _ in range(rounds):
    for s in servers:
        for label, name, args, error in cases(s):
            s.timed(label, name, args, error)
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print(f"| MCP call, warm {backend} workspace, p50 / p95 of {rounds} (ms) | " + " | ".join(s.name for s in servers)
      + (" | this / previous (p50) |" if base else " |"))
print("|---|" + "---|" * (len(servers) + (1 if base else 0)))
for label, _, _, _ in cases(servers[0]):
    row = f"| {label} | " + " | ".join(f"{pct(s.times[label], 50):.1f} / {pct(s.times[label], 95):.1f}"
                                     for s in servers)
    if base:
        row += f" | {pct(servers[0].times[label], 50) / pct(servers[1].times[label], 50):.2f}"
    print(row + " |")
for s in servers:
    s.close()
PY
