#!/usr/bin/env python3
"""Regenerates the tool sections of docs/reference/mcp/TOOLS.md and WORKSPACE-TOOLS.md from the real server's tools/list.

usage: scripts/mcp-tools-doc.py [DAVIT]   (DAVIT: the davit launcher, default ./davit)

Each tool's section is its description, an argument table from its inputSchema, the properties of its
outputSchema and an example call. Examples are kept from the current pages (the ```json block of each
section); a tool without one takes EXAMPLES below. The tools go to the pages in the server's order, from SECOND on
to the second page. In each page everything from its first '### `' heading (in TOOLS.md: under '## Tools') to the
end of the file is replaced.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

DOCS = ["docs/reference/mcp/TOOLS.md", "docs/reference/mcp/WORKSPACE-TOOLS.md"]
SECOND = "workspace_file_list"  # the first tool of the second page
EXAMPLES = {
    "workspace_commit": {"workspace": "proj", "reference": "127.0.0.1:5000/agents/proj-fixed:1", "push": True},
    "workspace_snapshot_push": {"workspace": "proj", "snapshot": "s1", "reference": "127.0.0.1:5000/agents/proj:s1"},
    "workspace_push": {"workspace": "proj", "host_path": "/home/me/src/app", "dest": "app"},
    "workspace_export": {"workspace": "proj", "host_dest": "/home/me/src/out", "path": "dist"},
    "workspace_disk_list": {"workspace": "proj", "path": "src", "recursive": True},
    "workspace_disk_read": {"workspace": "proj", "path": "src/main.c", "max_bytes": 4096},
    "workspace_disk_export": {"workspace": "proj", "host_dest": "/home/me/src/out", "path": "dist"},
    "workspace_file_edit": {"workspace": "proj", "path": "src/app.js", "old_text": "return a - b;",
                            "new_text": "return a + b;"},
    "workspace_patch": {"workspace": "proj", "patch": "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-old\n+new\n"},
    "workspace_service_start": {"workspace": "proj", "name": "web", "ready_port": 8000,
                                "command": ["python3", "-m", "http.server", "8000"]},
    "workspace_service_list": {"workspace": "proj"},
    "workspace_service_logs": {"workspace": "proj", "name": "web", "tail": 20},
    "workspace_service_stop": {"workspace": "proj", "name": "web"},
    "workspace_shell_open": {"workspace": "proj"},
    "workspace_shell_write": {"workspace": "proj", "shell": "sh-1a2b3c4d", "data": "read x; echo got-$x\n"},
    "workspace_shell_read": {"workspace": "proj", "shell": "sh-1a2b3c4d", "wait_ms": 10000},
    "workspace_shell_signal": {"workspace": "proj", "shell": "sh-1a2b3c4d", "signal": "INT"},
    "workspace_shell_close": {"workspace": "proj", "shell": "sh-1a2b3c4d"},
    "workspace_exec_output": {"workspace": "proj", "exec_id": "e-0123456789ab", "offset": 16384, "limit": 65536},
    "workspace_exec_wait": {"workspace": "proj", "exec_id": "e-0123456789ab", "timeout": 30},
    "workspace_exec_kill": {"workspace": "proj", "exec_id": "e-0123456789ab"},
    "workspace_update": {"workspace": "proj", "name": "proj-fix", "labels": {"stage": "review"},
                         "remove_labels": ["task"]},
    "workspace_network": {"workspace": "proj", "allow_hosts": ["files.pythonhosted.org:443"],
                          "remove": ["pypi.org"]},
    "workspace_network_log": {"workspace": "proj", "last": 20},
    "workspace_fork": {"workspace": "proj", "names": ["proj-try-a", "proj-try-b"]},
    "workspace_pause": {"workspace": "proj"},
    "workspace_resume": {"workspace": "proj"},
}


def tools(davit, which):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25",
            "capabilities": {}, "clientInfo": {"name": "doc", "version": "1"}}}
    msgs = [init, {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    with tempfile.TemporaryDirectory() as home:
        p = subprocess.Popen([davit, "mcp", "serve", "--tools", which], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "DAVIT_HOME": home})
        for m in msgs:
            p.stdin.write((json.dumps(m) + "\n").encode())
        p.stdin.flush()
        for line in p.stdout:
            m = json.loads(line)
            if m.get("id") == 2:
                p.stdin.close()
                p.wait()
                return m["result"]["tools"]
    raise SystemExit("no tools/list answer")


def kind(s):
    if "enum" in s:
        return "one of " + ", ".join("`%s`" % v for v in s["enum"])
    t = s.get("type")
    if t == "array":
        return "array of " + s["items"]["type"] if "type" in s.get("items", {}) else "array"
    if t == "object" and "additionalProperties" in s:
        return "object of strings"
    if isinstance(t, list):
        return " or ".join(t)
    return t


def section(t, profile, example):
    out = ["### `%s`%s" % (t["name"], " (%s)" % profile if profile != "full" else ""), "",
           "**%s.** %s" % (t.get("title", t["name"]), t["description"]), ""]
    props = t["inputSchema"].get("properties", {})
    req = set(t["inputSchema"].get("required", []))
    if props:
        out += ["| argument | type | required | description |", "|---|---|---|---|"]
        for k, v in props.items():
            out.append("| `%s` | %s | %s | %s |" % (k, kind(v), "yes" if k in req else "no", v.get("description", "")))
    else:
        out.append("No arguments.")
    res = ", ".join("`%s` (%s)" % (k, kind(v)) for k, v in t["outputSchema"].get("properties", {}).items()
                    if k != "error")
    out += ["", "Result (`structuredContent`): %s." % res, "", "```json",
            json.dumps({"name": t["name"], "arguments": example}, ensure_ascii=False), "```", ""]
    return "\n".join(out)


def main():
    davit = sys.argv[1] if len(sys.argv) > 1 else "./davit"
    heads, old = [], {}
    for i, path in enumerate(DOCS):
        doc = open(path, encoding="utf-8").read()
        start = doc.index("\n### `", doc.index("## Tools") if i == 0 else 0) + 1
        heads.append(doc[:start])
        for m in re.finditer(r"### `([a-z_]+)`.*?```json\n(.*?)\n```", doc[start:], re.S):
            old[m.group(1)] = json.loads(m.group(2))["arguments"]
    run = {t["name"] for t in tools(davit, "run")}
    core = {t["name"] for t in tools(davit, "core")}
    parts = [[], []]
    page = 0
    for t in tools(davit, "full"):
        if t["name"] == SECOND:
            page = 1
        example = old.get(t["name"], EXAMPLES.get(t["name"]))
        if example is None:
            raise SystemExit("no example for " + t["name"] + ": add one to EXAMPLES")
        parts[page].append(section(t, "run" if t["name"] in run else "core" if t["name"] in core else "full", example))
    if not parts[1]:
        raise SystemExit("no tool " + SECOND + ": name the second page's first tool in SECOND")
    for path, head, part in zip(DOCS, heads, parts):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(head + "\n".join(part).rstrip("\n") + "\n")
        os.replace(tmp, path)


main()
