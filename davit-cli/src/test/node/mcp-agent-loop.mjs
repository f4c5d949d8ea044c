// The agent loop of issue 53, scripted with the MCP TypeScript SDK against two real `davit mcp serve` (two davit
// homes, "machines"), as an agent builder would drive them: seed a Node project, fetch what it needs through an
// allow-list that names only its package host, run the failing tests, a slow suite as a background exec, fork into
// two, fix differently in each, keep the winner, move it as a whole-sandbox snapshot through a registry to the second
// home and carry on there, pause and resume a running service.
// node mcp-agent-loop.mjs IMAGE SEED REPOSITORY     with AGENT_SERVERS='[{"command":..,"args":[..],"env":{..}}, ..]'
// Prints one "ok: ..." line per check, then "timings: {tool: [ms, ...]}"; exits non-zero on the first failure.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { check } from "./checks.mjs";

const [image, seed, repository] = process.argv.slice(2);
const servers = JSON.parse(process.env.AGENT_SERVERS);
const CURL = "curl -sS --max-time 20 --cacert /ca.pem ";
const timings = {};

async function connect(server) {
  const client = new Client({ name: "davit-agent-loop", version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command: server.command, args: server.args,
    env: { ...process.env, ...server.env }, stderr: "inherit" }));
  return client;
}

/** Calls tool `name`, timing it; returns the structured result (a tool error fails the loop unless allowed). */
async function call(client, name, args, { mayFail = false, onprogress } = {}) {
  const t0 = performance.now();
  const r = await client.callTool({ name, arguments: args }, undefined,
    { timeout: 600_000, onprogress, resetTimeoutOnProgress: true });
  (timings[name] ??= []).push(Math.round(performance.now() - t0));
  if (r.isError && !mayFail) {
    check(false, `${name} answered`, r.content?.[0]?.text);
  }
  return { ...r.structuredContent, isError: r.isError === true };
}

const exec = (client, workspace, script, opts) => call(client, "workspace_exec",
  { workspace, command: ["sh", "-c", script] }, opts);

// ---- home A
const a = await connect(servers[0]);
const ws = await call(a, "workspace_create", { environment: image, name: "app", seed, allow_hosts: ["allowed.test"],
  env: { NODE_ENV: "test" } });
check(ws.status === "running", "workspace_create: seeded, with an allow-list of one host");

const first = await exec(a, "app", "node --test 2>&1", { mayFail: true });
check(first.exit_code !== 0 && /fail 1/.test(first.stdout), "the project's tests fail at first", first.stdout);

// what it needs, from the one host the allow-list names; another host is refused
const fetched = await exec(a, "app", `${CURL} https://allowed.test/pkg/left-pad -o vendor.json && wc -c < vendor.json`);
check(Number(fetched.stdout.trim()) > 0, "a package fetched from the allowed host");
const denied = await exec(a, "app", `${CURL} https://denied.test/pkg/x`, { mayFail: true });
check(denied.exit_code !== 0 && JSON.stringify(denied.network_denied ?? []).includes("denied.test"),
  "a host the allow-list does not name is refused, and said so", denied.network_denied);

// a slow suite in the background, waited for while the agent reads the code
const bg = await call(a, "workspace_exec", { workspace: "app", command: ["sh", "-c", "sleep 2; node --test 2>&1"],
  detach: true });
const read = await call(a, "workspace_file_read", { workspace: "app", path: "sum.js" });
check(read.content.includes("a - b"), "workspace_file_read while the suite runs");
let waited;
do {
  waited = await call(a, "workspace_exec_wait", { workspace: "app", exec_id: bg.exec_id, timeout: 10 });
} while (waited.state === "running");
check(waited.exit_code !== 0, "the background suite ended, failing");

// a runtime installed outside /workspace: it must travel with the whole-sandbox snapshot
await exec(a, "app", "mkdir -p /opt/tool && echo v1 > /opt/tool/VERSION");

// two attempts side by side
const forks = await call(a, "workspace_fork", { workspace: "app", names: ["try-1", "try-2"] });
check(forks.workspaces.length === 2, "workspace_fork: two attempts");
await call(a, "workspace_file_edit", { workspace: "try-1", path: "sum.js", old_text: "a - b", new_text: "a + b" });
await call(a, "workspace_file_edit", { workspace: "try-2", path: "sum.js", old_text: "a - b", new_text: "a * b" });
const r1 = await exec(a, "try-1", "node --test 2>&1", { mayFail: true });
const r2 = await exec(a, "try-2", "node --test 2>&1", { mayFail: true });
check(r1.exit_code === 0 && r2.exit_code !== 0, "one attempt passes, the other fails", [r1.exit_code, r2.exit_code]);
const diff = await call(a, "workspace_diff", { workspace: "try-1" });
check(JSON.stringify(diff).includes("sum.js"), "workspace_diff of the winner names its change");
await call(a, "workspace_remove", { workspace: "try-2" });

// the winner moves: a whole-sandbox snapshot, pushed to the registry
await call(a, "workspace_snapshot_create", { workspace: "try-1", name: "win", all: true });
const pushed = await call(a, "workspace_snapshot_push", { workspace: "try-1", snapshot: "win",
  reference: `${repository}/app:win` });
check(pushed.reference === `${repository}/app:win`, "workspace_snapshot_push of the whole sandbox");
await a.close();

// ---- home B: carries on
const b = await connect(servers[1]);
const there = await call(b, "workspace_create", { from: pushed.reference, name: "app-b" });
check(there.snapshot === "win", "workspace_create from the snapshot in the second home");
const again = await exec(b, "app-b", "node --test 2>&1 && cat /opt/tool/VERSION && echo $NODE_ENV");
check(/v1\ntest\n$/.test(again.stdout), "the tests pass there, with /opt and the variables", again.stdout);
const policy = await call(b, "workspace_network", { workspace: "app-b" });
check(JSON.stringify(policy.allow) === JSON.stringify(["allowed.test"]), "the allow-list came with it",
  policy.allow);

// a running service, paused and resumed
const svc = await call(b, "workspace_service_start", { workspace: "app-b", name: "web", ready_port: 8080,
  command: ["node", "-e", "require('http').createServer((q, s) => s.end('pong')).listen(8080)"] });
check(svc.ready === true, "workspace_service_start: ready on its port");
await call(b, "workspace_pause", { workspace: "app-b" });
const paused = await call(b, "workspace_status", { workspace: "app-b" });
check(paused.status === "paused", "workspace_status says paused", paused.status);
await call(b, "workspace_resume", { workspace: "app-b" });
const pong = await exec(b, "app-b", "curl -sS --max-time 10 http://127.0.0.1:8080/");
check(pong.stdout === "pong", "the service answers after the resume", pong.stdout);
await call(b, "workspace_remove", { workspace: "app-b" });
await b.close();

check(true, "done");
console.log(`timings: ${JSON.stringify(timings)}`);
process.exit(0);
