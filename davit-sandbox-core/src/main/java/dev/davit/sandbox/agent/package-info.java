/**
 * The host's end of davit's sandbox agent (davit-agent, docs/reference/AGENT.md): {@link
 * dev.davit.sandbox.agent.AgentWire}, the wire format with its bounds, and {@link dev.davit.sandbox.agent.AgentLink},
 * one connection to an agent over whatever stream a backend gives (a unix socket for containers). Every backend
 * speaks to its agent through these two classes; every reply is read as a hostile sandbox could have written it.
 * davit's own: exported only to the backends.
 */
package dev.davit.sandbox.agent;
