#!/usr/bin/env bash
# workspace_create through the MCP server (stdio, one server process per build), for a cached image: empty, and
# seeded with a small project (20 files), each followed by workspace_remove (not timed). Rows:
#   this build, cold (no --warm): a sandbox created and started per call;
#   this build, --warm 1: the call takes a started sandbox from the pool (refilled in the background between calls);
#   the previous build (BASE_JAR=path/to/an/older/davit.jar), cold.
# The servers run side by side on one davit home, the rounds alternate between them, and every call follows a pause
# of PAUSE_MS (default 1000) so that no pool refill or removal of another server's runs during a timed call.
#   bench/mcp-create.sh [ROUNDS]    (default 20)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-20}"
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
work="${BENCH_WORK:-$root/bench/work}/mcp-create"
. "$root/bench/busybox.sh"
"$root/davit" run -q "$ref" -- true >/dev/null   # pull + unpack once
mkdir -p "$work/allowed/seed/src"
for i in $(seq 1 20); do printf 'line %s\n' $(seq 1 20) > "$work/allowed/seed/src/f$i.txt"; done
jar="$root/davit-cli/target/davit.jar"
python3 - "$java" "$jar" "${BASE_JAR:-}" "$ref" "$rounds" "$work/allowed" "${PAUSE_MS:-1000}" <<'PY'
import json, subprocess, sys, time
java, jar, base, ref, rounds, allowed, pause = sys.argv[1:8]
rounds, pause = int(rounds), int(pause) / 1000
opts = ["-XX:+UseSerialGC", "-Xss512k", "-Xmn16m", "-Xmx512m", "--enable-native-access=ALL-UNNAMED"]
class Server:
    def __init__(self, name, jar, extra):
        self.name, self.n = name, 0
        self.p = subprocess.Popen([java] + opts + ["-cp", jar, "dev.davit.cli.Main", "mcp", "serve", "--tools", "core",
                                  "--allow-path", allowed, "--max-workspaces", "50"] + extra,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                "clientInfo": {"name": "bench", "version": "1"}})
        self.p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'); self.p.stdin.flush()
        self.times = {}
    def rpc(self, method, params):
        self.n += 1
        self.p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params})
                            + "\n").encode()); self.p.stdin.flush()
        while True:
            r = json.loads(self.p.stdout.readline())
            if r.get("id") == self.n: return r
    def tool(self, name, args):
        t0 = time.perf_counter(); r = self.rpc("tools/call", {"name": name, "arguments": args})
        assert "result" in r and not r["result"].get("isError"), (self.name, r)
        return (time.perf_counter() - t0) * 1000, r["result"]["structuredContent"]
    def create(self, label, args):
        time.sleep(pause)
        t, w = self.tool("workspace_create", args)
        self.times.setdefault(label, []).append(t)
        time.sleep(pause)
        self.tool("workspace_remove", {"workspace": w["id"]})
    def close(self):
        self.p.stdin.close(); self.p.wait()
servers = [Server("this build, cold", jar, []), Server("this build, --warm 1", jar, ["--warm", "1"])]
if base:
    servers.append(Server("previous build, cold", base, []))
cases = [("empty", {"environment": ref}), ("20-file seed", {"environment": ref, "seed": allowed + "/seed"})]
for s in servers:   # warm-up: JIT, and the pool learns the kind
    for label, args in cases:
        for _ in range(3):
            s.create("warm-up", args)
for _ in range(rounds):
    for label, args in cases:
        for s in servers:
            s.create(label, args)
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print(f"| MCP workspace_create, cached image, p50 / p95 of {rounds} (ms) | " + " | ".join(s.name for s in servers)
      + " |")
print("|---|" + "---|" * len(servers))
for label, _ in cases:
    print(f"| {label} | " + " | ".join(f"{pct(s.times[label], 50):.1f} / {pct(s.times[label], 95):.1f}"
                                       for s in servers) + " |")
for s in servers:
    s.close()
PY
