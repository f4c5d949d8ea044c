/**
 * The HTTP-free parts of registry authentication.
 *
 * <ul>
 *   <li>{@link dev.davit.oci.auth.Challenge} parses {@code WWW-Authenticate} headers;</li>
 *   <li>{@link dev.davit.oci.auth.Credentials} holds a username and password, an identity token, or nothing;</li>
 *   <li>{@link dev.davit.oci.auth.CredentialResolver} finds credentials for a registry host in command-line
 *       flags, the davit config file and the Docker config file (including credential helpers);</li>
 *   <li>{@link dev.davit.oci.auth.DavitConfig} reads the davit config file and stores or removes logins in it;</li>
 *   <li>{@link dev.davit.oci.auth.Scope} builds token scopes such as {@code repository:a/b:pull,push};</li>
 *   <li>{@link dev.davit.oci.auth.TokenResponse} parses a token endpoint's answer, and
 *       {@link dev.davit.oci.auth.TokenCache} keeps tokens until shortly before they expire.</li>
 * </ul>
 *
 * <p>No class here ever puts a password, token, identity token or base64 {@code auth} value into a
 * {@code toString()}, an exception message or a log line.
 */
package dev.davit.oci.auth;
