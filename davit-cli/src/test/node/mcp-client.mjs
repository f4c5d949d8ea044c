// An independent MCP client (the TypeScript SDK from npm) against the real `davit mcp serve`.
// node mcp-client.mjs stdio IMAGE ALLOWED_DIR JAVA ARGS...      (the server is started over stdio)
// node mcp-client.mjs http IMAGE ALLOWED_DIR URL TOKEN_FILE      (a running server over streamable HTTP)
// Prints one "ok: ..." line per check; exits non-zero on the first failure.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { readFileSync, readdirSync } from "node:fs";
import { check, rejects } from "./checks.mjs";

const [mode, image, allowed, ...rest] = process.argv.slice(2);

/** Host processes whose command line is exactly argv. */
function processes(argv) {
  const want = argv.join("\0");
  const found = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0$/, "") === want) found.push(pid);
    } catch { /* gone */ }
  }
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connect(headers) {
  const client = new Client({ name: "davit-node-test", version: "1.0.0" });
  let transport;
  if (mode === "stdio") {
    const [command, ...args] = rest;
    transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
  } else {
    transport = new StreamableHTTPClientTransport(new URL(rest[0]), { requestInit: { headers } });
  }
  await client.connect(transport);
  return client;
}

let client;
if (mode === "http") {
  const [url, tokenFile] = rest;
  const token = readFileSync(tokenFile, "utf8").trim();
  const noToken = await rejects(connect({}));
  check(noToken !== null && /bearer token/.test(String(noToken)), "http: a client without the token is refused",
      String(noToken));
  const wrong = await rejects(connect({ Authorization: "Bearer not-the-token-at-all" }));
  check(wrong !== null && /bearer token/.test(String(wrong)), "http: a client with a wrong token is refused",
      String(wrong));
  const post = (headers) => fetch(url, { method: "POST", headers: { "Content-Type": "application/json",
    Accept: "application/json, text/event-stream", ...headers }, body: "{}" });
  const bare = await post({});
  check(bare.status === 401 && bare.headers.get("www-authenticate") === "Bearer",
    "http: no token is 401 with WWW-Authenticate: Bearer", bare.status);
  const evil = await post({ Authorization: `Bearer ${token}`, Origin: "http://evil.example" });
  check(evil.status === 403, "http: a non-loopback Origin is refused (403)", evil.status);
  client = await connect({ Authorization: `Bearer ${token}`, Origin: "http://localhost:1234" });
} else {
  client = await connect();
}

const { tools } = await client.listTools();
const names = tools.map((t) => t.name);
for (const n of ["run", "environment_list", "workspace_create", "workspace_exec", "workspace_file_write",
  "workspace_file_read", "workspace_diff", "workspace_remove"]) {
  check(names.includes(n), `tools/list has ${n}`);
}
check(tools.every((t) => t.outputSchema && t.inputSchema.type === "object"), "every tool has input and output schemas");
check(tools.every((t) => t.title && t.annotations && typeof t.annotations.readOnlyHint === "boolean"),
  "every tool has a title and annotations");
const named = tools.flatMap((t) => [t.description, ...Object.values(t.inputSchema.properties ?? {})
  .map((p) => p.description ?? "")].join(" ").match(/\b(?:environment|workspace)_[a-z_]+/g) ?? []);
check(named.every((n) => names.includes(n)), "descriptions name only offered tools",
  named.filter((n) => !names.includes(n)));

const run = await client.callTool({ name: "run", arguments: { environment: image, command: ["sh", "-c", "echo from-node"] } });
check(!run.isError && run.structuredContent.exit_code === 0 && run.structuredContent.stdout === "from-node\n",
  "run echoes", run);
const failed = await client.callTool({ name: "run", arguments: { environment: image, command: ["sh", "-c", "exit 7"] } });
check(failed.isError === true && failed.structuredContent.exit_code === 7, "a failing command is isError", failed);

const refused = await rejects(client.callTool({ name: "workspace_create", arguments: { environment: image, seed: "/etc" } }));
check(refused !== null && refused.code === -32602 && /outside the allowed/.test(refused.message),
  "a host path outside --allow-path is refused", String(refused));

const ws = await client.callTool({ name: "workspace_create", arguments: { environment: image, seed: allowed,
  env: { PROJ_MODE: "ci", PROJ_GONE: "soon" } } });
check(!ws.isError && ws.structuredContent.status === "running" && ws.structuredContent.paused === false
  && ws.structuredContent.env.PROJ_MODE === "ci", "workspace_create with env", ws);
const id = ws.structuredContent.id;
try {
  // the workspace's variables: every exec gets them, under what the call gives itself
  const ev = await client.callTool({ name: "workspace_exec", arguments: { workspace: id,
    command: ["sh", "-c", "echo $PROJ_MODE $PROJ_GONE $ONE"], env: { ONE: "1" } } });
  check(!ev.isError && ev.structuredContent.stdout === "ci soon 1\n", "an exec sees the workspace's variables", ev);
  if (names.includes("workspace_update")) {
    const up = await client.callTool({ name: "workspace_update", arguments: { workspace: id,
      env: { PROJ_MODE: "test" }, unset_env: ["PROJ_GONE"] } });
    check(!up.isError && up.structuredContent.env.PROJ_MODE === "test" && !("PROJ_GONE" in up.structuredContent.env),
      "workspace_update changes the variables", up);
  }
  const want = names.includes("workspace_update") ? "test -" : "ci soon";
  const w = await client.callTool({ name: "workspace_file_write",
    arguments: { workspace: id, path: "hello.txt", content: "hello\n" } });
  check(!w.isError && w.structuredContent.bytes === 6, "workspace_file_write", w);
  const e = await client.callTool({ name: "workspace_exec",
    arguments: { workspace: id, command: ["sh", "-c", "cat hello.txt a.txt; echo more >> a.txt"] } });
  check(!e.isError && e.structuredContent.stdout === "hello\nalpha\n", "workspace_exec", e);
  const r = await client.callTool({ name: "workspace_file_read", arguments: { workspace: id, path: "a.txt" } });
  check(r.structuredContent.content === "alpha\nmore\n", "workspace_file_read", r);
  // the edit models know: the one occurrence; refused (and nothing changed) when there twice
  const ed = await client.callTool({ name: "workspace_file_edit", arguments: { workspace: id, path: "a.txt",
    old_text: "more", new_text: "MORE" } });
  check(!ed.isError && ed.structuredContent.replacements === 1 && ed.structuredContent.line === 2,
    "workspace_file_edit", ed);
  const twice = await client.callTool({ name: "workspace_file_edit", arguments: { workspace: id, path: "a.txt",
    old_text: "\n", new_text: "" } });
  check(twice.isError === true && /2 times \(lines 1, 2\)/.test(JSON.stringify(twice.structuredContent))
    && /'replace_all'/.test(JSON.stringify(twice.structuredContent)), "an ambiguous edit is refused, saying where",
    twice);
  const back = await client.callTool({ name: "workspace_file_edit", arguments: { workspace: id, path: "a.txt",
    old_text: "MORE", new_text: "more" } });
  check(!back.isError, "workspace_file_edit back", back);
  // dependencies are counted, not listed: the diff keeps what the agent wrote visible
  const deps = await client.callTool({ name: "workspace_exec", arguments: { workspace: id, command: ["sh", "-c",
    "mkdir -p node_modules/dep && for i in 1 2 3 4 5 6 7 8 9; do echo $i > node_modules/dep/f$i; done"] } });
  check(!deps.isError, "node_modules made", deps);
  const d = await client.callTool({ name: "workspace_diff", arguments: { workspace: id } });
  check(JSON.stringify(d.structuredContent.collapsed) === JSON.stringify([{ path: "node_modules", added: 11,
    modified: 0, deleted: 0 }]) && !d.structuredContent.changes.some((c) => c.path.startsWith("node_modules")),
    "workspace_diff collapses node_modules", d.structuredContent);
  const every = await client.callTool({ name: "workspace_diff", arguments: { workspace: id, include_ignored: true } });
  check(every.structuredContent.changes.filter((c) => c.path.startsWith("node_modules")).length === 11
    && every.structuredContent.collapsed.length === 0, "include_ignored lists them", every.structuredContent);
  await client.callTool({ name: "workspace_exec", arguments: { workspace: id, command: ["rm", "-r", "node_modules"] } });
  const changed = d.structuredContent.changes.map((c) => `${c.kind} ${c.path}`).sort();
  check(changed.includes("modified a.txt") && changed.some((c) => c === "added hello.txt")
    && d.structuredContent.patch.includes("+more"), "workspace_diff", d.structuredContent);

  // a 3,000,001-byte output reaches the model capped, and the rest is there in pages; bytes that are not UTF-8 too
  const big = await client.callTool({ name: "workspace_exec", arguments: { workspace: id,
    command: ["sh", "-c", "seq 1 500000 | head -c 3000000; printf Z"] } });
  check(!big.isError && big.structuredContent.stdout_bytes === 3000001 && big.structuredContent.truncated === true
    && big.structuredContent.stdout.length < 17000 && JSON.stringify(big).length < 60000,
    "a 3 MB output is capped", { bytes: big.structuredContent.stdout_bytes, json: JSON.stringify(big).length });
  const page = await client.callTool({ name: "workspace_exec_output", arguments: { workspace: id,
    exec_id: big.structuredContent.exec_id, offset: 2999990, limit: 100 } });
  check(page.structuredContent.eof === true && page.structuredContent.content.endsWith("Z"),
    "workspace_exec_output pages the rest", page.structuredContent);
  const bin = await client.callTool({ name: "workspace_exec", arguments: { workspace: id,
    command: ["sh", "-c", "printf '\\377\\376x'"] } });
  check(Buffer.from(bin.structuredContent.stdout_base64, "base64").equals(Buffer.from([0xff, 0xfe, 0x78])),
    "bytes that are not UTF-8 come back exactly", bin.structuredContent);

  // notifications/cancelled (what a client sends when it stops waiting) does not kill a foreground exec: its command
  // goes on to its end and is found in workspace_logs (over stdio and over streamable HTTP)
  const tag = mode === "stdio" ? "371" : "372";
  const marker = ["sleep", `7.${tag}`];
  const abort = new AbortController();
  const pending = rejects(client.callTool({ name: "workspace_exec", arguments: { workspace: id,
    command: ["sh", "-c", `sleep 7.${tag}; echo went-${tag}`] } }, undefined, { signal: abort.signal,
    timeout: 120000 }));
  for (let i = 0; i < 300 && processes(marker).length === 0; i++) await sleep(100);
  check(processes(marker).length > 0, "the long command runs");
  const other = await client.callTool({ name: "workspace_file_list", arguments: { workspace: id } });
  check(!other.isError, "another call is answered while it runs");
  abort.abort();
  check((await pending) !== null, "the cancelled call is abandoned by the client");
  await sleep(1000);
  check(processes(marker).length > 0, "a cancelled exec goes on");
  let logged = null;
  for (let i = 0; i < 300 && logged === null; i++) {
    const logs = await client.callTool({ name: "workspace_logs", arguments: { workspace: id, last: 5 } });
    logged = logs.structuredContent.logs.find((e) => e.command.join(" ").includes(`went-${tag}`)) ?? null;
    if (logged === null) await sleep(100);
  }
  check(logged !== null && logged.exit_code === 0 && logged.stdout.head === `went-${tag}\n`,
    "a cancelled exec's end is in workspace_logs", logged);

  // the tools of --tools full: a patch, then a shell answering `read x`
  const p = await client.callTool({ name: "workspace_patch", arguments: { workspace: id,
    patch: "--- a/hello.txt\n+++ b/hello.txt\n@@ -1 +1 @@\n-hello\n+patched\n" } });
  check(!p.isError && p.structuredContent.changes[0].path === "hello.txt", "workspace_patch", p);
  const sh = await client.callTool({ name: "workspace_shell_open", arguments: { workspace: id } });
  check(!sh.isError && sh.structuredContent.state === "running", "workspace_shell_open", sh);
  const shell = sh.structuredContent.id;
  await client.callTool({ name: "workspace_shell_write", arguments: { workspace: id, shell,
    data: "read x; echo \"got-$x\" $(cat hello.txt) \"$PROJ_MODE ${PROJ_GONE:--}\"\n" } });
  await client.callTool({ name: "workspace_shell_write", arguments: { workspace: id, shell, data: "node\n" } });
  let screen = "";
  for (let i = 0; i < 20 && !screen.includes(`got-node patched ${want}`); i++) {
    const r = await client.callTool({ name: "workspace_shell_read", arguments: { workspace: id, shell, wait_ms: 1000 } });
    screen += r.structuredContent.output;
  }
  check(screen.includes(`got-node patched ${want}`), "a shell answers `read x`, with the workspace's variables",
    screen);
  check(!screen.includes("\u001b") && !screen.includes("Script "), "a shell's reads are clean text", screen);
  const closed = await client.callTool({ name: "workspace_shell_close", arguments: { workspace: id, shell } });
  check(!closed.isError, "workspace_shell_close", closed);

  if (mode === "http") {
    // deleting the HTTP session (the client went away) kills its one-shot runs
    const headers = { Authorization: `Bearer ${readFileSync(rest[1], "utf8").trim()}` };
    const second = new Client({ name: "davit-node-test-2", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(rest[0]), { requestInit: { headers } });
    await second.connect(transport);
    const gone = ["sleep", "373"];
    const abandoned = rejects(second.callTool({ name: "run", arguments: { environment: image, command: gone } },
      undefined, { timeout: 120000 }));
    for (let i = 0; i < 300 && processes(gone).length === 0; i++) await sleep(100);
    check(processes(gone).length > 0, "http: a one-shot run runs");
    await transport.terminateSession();
    for (let i = 0; i < 300 && processes(gone).length > 0; i++) await sleep(100);
    check(processes(gone).length === 0, "http: deleting the session killed its run");
    await second.close();
    await abandoned;
  }
  if (mode === "stdio") {
    // a command longer than any one call may take (here 20 s against waits of at most 4 s; in use, longer than the
    // SDK's default request timeout of 60 s), started in the background: the client goes away and comes back (a new
    // server process over the same home), waits for it in calls shorter than the command, and pages its output back
    // whole
    const bg = await client.callTool({ name: "workspace_exec", arguments: { workspace: id, detach: true,
      command: ["sh", "-c", "sleep 20; seq 1 5000; echo fin"] } });
    check(!bg.isError && bg.structuredContent.state === "running" && bg.structuredContent.exit_code === null,
      "a background exec returns at once", bg);
    const execId = bg.structuredContent.exec_id;
    await client.close();
    client = await connect();
    let waited;
    let waits = 0;
    for (let i = 0; i < 30; i++) {
      waits++;
      waited = await client.callTool({ name: "workspace_exec_wait", arguments: { workspace: id, exec_id: execId,
        timeout: 4 } }, undefined, { timeout: 10000 });
      if (waited.isError || waited.structuredContent.state !== "running") break;
    }
    check(waits > 1, "the background exec was still running after one wait", { waits });
    check(!waited.isError && waited.structuredContent.state === "exited" && waited.structuredContent.exit_code === 0
      && waited.structuredContent.output_tail.endsWith("5000\nfin\n"),
      "a 20 s background exec outlived its client and was waited for in calls shorter than it", waited);
    let all = "";
    for (let offset = 0; ;) {
      const page = await client.callTool({ name: "workspace_exec_output", arguments: { workspace: id,
        exec_id: execId, offset, limit: 8192 } });
      check(!page.isError, "a page of the background exec's output", page);
      all += page.structuredContent.content;
      offset = page.structuredContent.offset + page.structuredContent.bytes;
      if (page.structuredContent.eof) break;
    }
    check(all.startsWith("1\n2\n") && all.endsWith("4999\n5000\nfin\n")
      && all.length === waited.structuredContent.output_bytes, "its output paged back whole", all.length);
  }
  // a stopped workspace: the error is a result that says what to call
  await client.callTool({ name: "workspace_stop", arguments: { workspace: id } });
  const stopped = await client.callTool({ name: "workspace_exec", arguments: { workspace: id, command: ["true"] } });
  check(stopped.isError === true && stopped.structuredContent.error.kind === "state"
    && stopped.structuredContent.error.message.includes("workspace_start"), "exec on a stopped workspace", stopped);
} finally {
  const del = await client.callTool({ name: "workspace_remove", arguments: { workspace: id } });
  check(!del.isError && del.structuredContent.removed === true, "workspace_remove", del);
}
await client.close();
console.log("ok: done");
process.exit(0);
