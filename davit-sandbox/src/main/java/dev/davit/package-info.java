/**
 * davit as a library, in one handle: {@link dev.davit.Davit} opens a davit home (the CLI's by default) and, with the
 * CLI's safe defaults (container limits, no network, no host paths), makes images runnable, runs one-shot commands
 * and opens workspaces; {@link dev.davit.OpenWorkspace} is one such workspace, removed when it is closed unless kept.
 * {@link dev.davit.Images} ({@code davit.images()}) holds the home's images and artifacts: pull, push, copy, build,
 * list, remove, artifacts and bundles. What these do not cover is in {@link dev.davit.sandbox.engine.Sandboxes}
 * (sandboxes) and {@link dev.davit.sandbox.workspace.Workspaces} (workspaces), each reachable from a {@code Davit}.
 */
package dev.davit;
