#!/usr/bin/env bash
# How long davit-agent's egress gate takes from its start to serving (its `ready` file), the issue 71 goal being 10 ms:
# the pod's gate (`davit-agent gate pod`, which binds its sockets itself) in a user and network namespace of its own
# (unshare, as a pod's container is in one), started ROUNDS times, against unshare running `true` alone. The host's
# gate differs only in entering the sandbox's namespace to bind (one setns) and waiting for its set-up, which
# bench/egress.sh's runs time end to end. Needs unshare and python3.
#   bench/gate-ready.sh [ROUNDS] [DAVIT_AGENT]    (default 21; the agent davit-jail's build made)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-21}"
agent="${2:-$root/davit-jail/target/classes/dev/davit/sandbox/jail/davit-agent-$(uname -m | sed 's/x86_64/amd64/')}"
[ -x "$agent" ] || { echo "gate-ready: no davit-agent at $agent (build davit-jail first)" >&2; exit 2; }
exec python3 - "$agent" "$rounds" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
agent, rounds = sys.argv[1], int(sys.argv[2])
ready, plain = [], []
for _ in range(rounds):
    d = tempfile.mkdtemp(prefix="davit-gate-ready-")
    env = dict(os.environ, DAVIT_GATE_DIR=d, DAVIT_GATE_POLICY="allow-host a.test\n", DAVIT_GATE_HOSTS="",
               DAVIT_GATE_RESOLV_CONF="nameserver 127.0.0.1\n")
    t0 = time.perf_counter()
    p = subprocess.Popen(["unshare", "--user", "--map-root-user", "--net", agent, "gate", "pod"], env=env,
                         stdin=subprocess.DEVNULL)
    while not os.path.exists(os.path.join(d, "ready")):
        if time.perf_counter() - t0 > 5:
            p.kill()
            sys.exit("gate-ready: the gate did not say it is ready within 5 s")
        time.sleep(0.0001)
    ready.append((time.perf_counter() - t0) * 1000)
    p.kill()
    p.wait()
    subprocess.run(["rm", "-rf", d])
    t0 = time.perf_counter()
    subprocess.run(["unshare", "--user", "--map-root-user", "--net", "true"], check=True)
    plain.append((time.perf_counter() - t0) * 1000)
q = lambda v, f: sorted(v)[min(len(v) - 1, int(f * len(v)))]
print(f"start to ready, ms: p50 {statistics.median(ready):.1f} p90 {q(ready, 0.9):.1f} max {max(ready):.1f}"
      f" (unshare and true alone: p50 {statistics.median(plain):.1f}); {rounds} rounds")
PY
