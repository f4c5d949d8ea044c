/**
 * What runs sandboxes: {@link dev.davit.sandbox.engine.Sandboxes}, one-shot runs and long-lived sandboxes of every
 * backend this davit has, over the backends' interface (each backend's driver found as a service, never named), and
 * its doctor's checks of this host. It sits above the API's values ({@code dev.davit.sandbox}) and the backends'
 * interface, below the workspaces and builds that use it (docs/DESIGN.md, Layers).
 */
package dev.davit.sandbox.engine;
