/**
 * The JSON shapes the doors (the CLI's {@code --json}, the MCP server) show of workspace values
 * (docs/reference/JSON.md). Not API: the module exports this package to no one; the CLI reads it from the class path.
 */
package dev.davit.sandbox.workspace.json;
