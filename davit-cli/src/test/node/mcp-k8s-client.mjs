// The MCP TypeScript SDK from npm as the agent of `davit mcp serve --backend k8s` (K8sMcpNodeClientTest).
// node mcp-k8s-client.mjs IMAGE JAVA ARGS...   (the server is started over stdio with this process's environment)
// Prints one "ok: ..." line per check and exits non-zero on the first failure. Before it deletes the workspace it
// prints "pod-check SANDBOX_ID" and waits for a line on its stdin: the test looks at the pod from the cluster's side
// meanwhile. Its last lines are "run-sandbox ID" (the one-shot run's) and "ok: done".
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { createInterface } from "node:readline";
import { check, rejects } from "./checks.mjs";

const [image, command, ...args] = process.argv.slice(2);

/** A call refused in the model's words: invalid params, matching `words`, naming no flag of the operator's. */
async function refusedWith(promise, words, what) {
  const e = await rejects(promise);
  check(e !== null && e.code === -32602 && words.test(e.message) && !/ --[a-z]/.test(e.message), what,
    e === null ? "not refused" : e.message);
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const client = new Client({ name: "davit-k8s-node-test", version: "1.0.0" });
await client.connect(new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" }));
// long enough for a first create that pushes the image to the cluster's registry and waits for its pod
const slow = { timeout: 300000 };
const call = (name, a) => client.callTool({ name, arguments: a }, undefined, slow);

const { tools } = await client.listTools();
const backend = tools.find((t) => t.name === "workspace_create").inputSchema.properties.backend;
check(JSON.stringify(backend.enum) === JSON.stringify(["k8s"]), "workspace_create's 'backend' offers k8s alone",
  backend);

// the operator's --backend k8s is not the model's to widen, and what a pod has no means for is refused before
// anything is made (the server was started with --allow-network: the refusal is the cluster's)
await refusedWith(call("workspace_create", { environment: image, backend: "container" }),
  /argument 'backend' must be one of k8s, not 'container'/, "'backend': 'container' is refused");
await refusedWith(call("workspace_create", { environment: image, network: true }),
  /on Kubernetes \('backend': 'k8s'\) reach the network only through an egress allow-list/, "a network is refused on k8s");

const run = await call("run", { environment: image, command: ["sh", "-c", "echo from-a-pod"] });
check(!run.isError && run.structuredContent.backend === "k8s" && run.structuredContent.stdout === "from-a-pod\n"
  && run.structuredContent.limits.enforced_by === "pod_limits", "run is a one-shot pod", run.structuredContent);
const runSandbox = run.structuredContent.sandbox_id;

const ws = await call("workspace_create", { environment: image, memory: 256, cpus: 0.5, disk: 512 });
check(!ws.isError && ws.structuredContent.status === "running" && ws.structuredContent.backend === "k8s",
  "workspace_create makes a k8s workspace", ws.structuredContent);
const id = ws.structuredContent.id;
const sandbox = ws.structuredContent.sandbox;

const e = await call("workspace_exec", { workspace: id, command: ["sh", "-c", "pwd; echo made > made.txt; echo $((6*7))"] });
check(!e.isError && e.structuredContent.stdout === "/workspace\n42\n" && e.structuredContent.backend === "k8s",
  "workspace_exec runs in the pod", e.structuredContent);
const failing = await call("workspace_exec", { workspace: id, command: ["sh", "-c", "echo no >&2; exit 3"] });
check(failing.isError === true && failing.structuredContent.exit_code === 3 && failing.structuredContent.stderr === "no\n",
  "a failing command is isError with its exit code", failing.structuredContent);

const w = await call("workspace_file_write", { workspace: id, path: "notes/hello.txt", content: "hello\nfrom node\n" });
check(!w.isError && w.structuredContent.bytes === 16, "workspace_file_write", w.structuredContent);
const r = await call("workspace_file_read", { workspace: id, path: "notes/hello.txt" });
check(!r.isError && r.structuredContent.content === "hello\nfrom node\n", "workspace_file_read reads it back",
  r.structuredContent);
const seen = await call("workspace_exec", { workspace: id, command: ["cat", "notes/hello.txt", "made.txt"] });
check(seen.structuredContent.stdout === "hello\nfrom node\nmade\n", "the pod's command sees the written file",
  seen.structuredContent);
const d = await call("workspace_diff", { workspace: id });
const changed = d.structuredContent.changes.map((c) => `${c.kind} ${c.path}`).sort();
check(!d.isError && changed.includes("added made.txt") && changed.includes("added notes/hello.txt")
  && d.structuredContent.patch.includes("+from node"), "workspace_diff", d.structuredContent);

const bg = await call("workspace_exec", { workspace: id, detach: true,
  command: ["sh", "-c", "sleep 0.5; echo from-the-background; exit 4"] });
check(!bg.isError && bg.structuredContent.state === "running", "a background exec starts in the pod", bg.structuredContent);
const waited = await call("workspace_exec_wait", { workspace: id, exec_id: bg.structuredContent.exec_id, timeout: 30 });
check(waited.structuredContent.state === "exited" && waited.structuredContent.exit_code === 4,
  "workspace_exec_wait sees it end", waited.structuredContent);
const sh = await call("workspace_shell_open", { workspace: id });
check(!sh.isError && sh.structuredContent.state === "running", "workspace_shell_open: a pty in the pod", sh.structuredContent);
const shell = sh.structuredContent.id;
for (const data of ["read x; echo \"got-$x\" $(cat made.txt)\n", "node\n"]) {
  const typed = await call("workspace_shell_write", { workspace: id, shell, data });
  check(!typed.isError, "workspace_shell_write", typed.content);
}
let screen = "";
for (let i = 0; i < 20 && !screen.includes("got-node made"); i++) {
  const r = await call("workspace_shell_read", { workspace: id, shell, wait_ms: 1000 });
  screen += r.structuredContent.output;
}
check(screen.includes("got-node made") && !screen.includes("\u001b"), "a pod's shell answers `read x` in clean text",
  screen);
const closed = await call("workspace_shell_close", { workspace: id, shell });
check(!closed.isError, "workspace_shell_close", closed.structuredContent);
const stopped = await call("workspace_stop", { workspace: id });
check(!stopped.isError, "workspace_stop deletes the pod, keeping what it wrote", stopped.structuredContent);
const started = await call("workspace_start", { workspace: id });
check(!started.isError, "workspace_start makes a new pod", started.structuredContent);
const still = await call("workspace_file_read", { workspace: id, path: "made.txt" });
check(still.structuredContent.content === "made\n", "the workspace's files are there after the stop and start",
  still.structuredContent);

console.log(`pod-check ${sandbox}`);
const answer = await lines.next();
check(!answer.done && answer.value === "go", "the test looked at the pod", answer.value);

const del = await call("workspace_remove", { workspace: id });
check(!del.isError && del.structuredContent.removed === true, "workspace_remove", del.structuredContent);
const list = await call("workspace_list", {});
check(list.structuredContent.workspaces.length === 0, "workspace_list is empty", list.structuredContent);
await client.close();
console.log(`run-sandbox ${runSandbox}`);
console.log("ok: done");
process.exit(0);
