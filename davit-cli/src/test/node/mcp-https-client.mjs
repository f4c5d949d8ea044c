// The MCP TypeScript SDK from npm as an agent of davit's MCP server in the cluster (K8sInClusterTest), over HTTPS
// with the bearer token; the server's CA comes from NODE_EXTRA_CA_CERTS, so the certificate is checked as any agent
// would check it.
//   node mcp-https-client.mjs URL TOKEN_FILE IMAGE first    a workspace made, run in and written; prints "workspace ID"
//   node mcp-https-client.mjs URL TOKEN_FILE IMAGE again ID  (after the server's pod was replaced) the same workspace
//                                                          listed, its file read back, run in, then deleted
// Prints one "ok: ..." line per check and exits non-zero on the first failure.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { readFileSync } from "node:fs";
import { check, rejects } from "./checks.mjs";

const [url, tokenFile, image, phase, id] = process.argv.slice(2);
const token = readFileSync(tokenFile, "utf8").trim();

async function connect(headers) {
  const client = new Client({ name: "davit-in-cluster-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

// without the token the server answers nothing but its refusal
const refused = await rejects(connect({ Authorization: "Bearer not-the-token-at-all" }));
check(refused !== null && /wrong bearer token/.test(String(refused)), "a wrong token is refused", String(refused));

const client = await connect({ Authorization: `Bearer ${token}` });
const slow = { timeout: 300000 };
const call = (name, a) => client.callTool({ name, arguments: a }, undefined, slow);

if (phase === "first") {
  const { tools } = await client.listTools();
  const backend = tools.find((t) => t.name === "workspace_create").inputSchema.properties.backend;
  check(JSON.stringify(backend.enum) === JSON.stringify(["k8s"]), "the server in the cluster offers k8s alone", backend);
  const ws = await call("workspace_create", { environment: image, name: "kept", memory: 256, cpus: 0.5 });
  check(!ws.isError && ws.structuredContent.status === "running" && ws.structuredContent.backend === "k8s",
    "workspace_create makes a pod from inside the cluster", ws.structuredContent);
  const w = await call("workspace_file_write", { workspace: ws.structuredContent.id, path: "notes.txt",
    content: "made before the restart\n" });
  check(!w.isError, "workspace_file_write", w.structuredContent);
  const e = await call("workspace_exec", { workspace: ws.structuredContent.id, command: ["sh", "-c", "echo $((6*7))"] });
  check(!e.isError && e.structuredContent.stdout === "42\n", "workspace_exec runs in the pod", e.structuredContent);
  console.log(`workspace ${ws.structuredContent.id}`);
} else {
  const l = await call("workspace_list", {});
  const found = (l.structuredContent.workspaces ?? []).find((w) => w.id === id);
  check(!l.isError && found !== undefined, "the restarted server lists the workspace its home holds",
    l.structuredContent);
  const r = await call("workspace_file_read", { workspace: id, path: "notes.txt" });
  check(!r.isError && r.structuredContent.content === "made before the restart\n",
    "the workspace's file is read back after the restart", r.structuredContent);
  const e = await call("workspace_exec", { workspace: id, command: ["sh", "-c", "cat notes.txt"] });
  check(!e.isError && e.structuredContent.stdout === "made before the restart\n", "and its pod still runs commands",
    e.structuredContent);
  const d = await call("workspace_remove", { workspace: id });
  check(!d.isError, "workspace_remove", d.structuredContent);
}
await client.close();
console.log("ok: done");
