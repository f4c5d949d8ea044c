/**
 * What davit's own fetches of the network need (not exported): {@link dev.davit.sandbox.network.UrlFetch} fetches
 * a Containerfile's {@code ADD URL} under the build's network or egress policy, {@link
 * dev.davit.sandbox.network.HostResolver} resolves a name as the host's own programs do (the hosts file, then the name
 * servers of resolv.conf) with {@link dev.davit.sandbox.network.DnsMessage} (a name server's answers are read as
 * hostile: every loop and length bounded by the input, bad input a result, never an exception), and {@link
 * dev.davit.sandbox.network.GatePolicyFile} writes (and reads) the egress gate's policy file, which the gate itself,
 * davit-agent's {@code gate} mode (davit-jail/src/main/rust/src/gate), enforces.
 */
package dev.davit.sandbox.network;
