/**
 * The egress gate's parsers and resolver (not exported): what a sandbox sends out is hostile, so each parser here
 * reads a byte array it is given, bounds every loop and every length by the input, allocates little, and answers
 * bad input with a result (never an exception). {@link dev.davit.sandbox.network.DnsMessage} reads the sandbox's
 * DNS queries and writes davit's answers, {@link dev.davit.sandbox.network.TlsClientHello} finds the name a TLS
 * client asks for (SNI), {@link dev.davit.sandbox.network.HttpRequestHead} the name an HTTP/1.x request is for, and
 * {@link dev.davit.sandbox.network.HostResolver} resolves an allowed name as the host's own programs do (the hosts
 * file, then the name servers of resolv.conf).
 */
package dev.davit.sandbox.network;
