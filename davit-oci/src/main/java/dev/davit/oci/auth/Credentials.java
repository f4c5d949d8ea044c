package dev.davit.oci.auth;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Objects;

/**
 * What a client presents to a registry: a username and password, an identity token (an OAuth2 refresh token,
 * as Docker stores for some registries), or nothing. Immutable.
 *
 * <p>{@link #toString()} never shows the secret; {@link #source()} says where the credentials came from, for
 * error messages such as "credentials from ~/.docker/config.json were rejected".
 */
public final class Credentials {

    /** The kinds of credentials. */
    public enum Type {
        /** No credentials: the client requests anonymous access. */
        ANONYMOUS,
        /** A username and a password (or a personal access token used as a password). */
        BASIC,
        /** An identity token, sent to the token endpoint as an OAuth2 {@code refresh_token}. */
        IDENTITY_TOKEN
    }

    private static final Credentials ANONYMOUS = new Credentials(Type.ANONYMOUS, "", "", "no credentials");

    private final Type type;
    private final String username;
    private final String secret;
    private final String source;

    private Credentials(Type type, String username, String secret, String source) {
        this.type = type;
        this.username = username;
        this.secret = secret;
        this.source = source;
    }

    /** {@return no credentials: the shared anonymous instance} */
    public static Credentials anonymous() {
        return ANONYMOUS;
    }

    /**
     * A username and password.
     *
     * @param username the account name; not empty, no {@code ':'}
     * @param password the password or access token; not null, may be empty
     * @return BASIC credentials whose source is {@code given credentials}
     * @throws DavitException of kind USAGE if the username is empty or contains {@code ':'}, which Basic
     *                        authentication cannot carry, or the password is null
     */
    public static Credentials basic(String username, String password) {
        if (username == null || username.isEmpty()) {
            throw new DavitException(DavitException.Kind.USAGE, "the username is empty; give a username");
        }
        if (username.indexOf(':') >= 0) {
            throw new DavitException(DavitException.Kind.USAGE, "the username '" + Text.shorten(username, 60)
                    + "' contains ':', which Basic authentication cannot carry; check the username");
        }
        if (password == null) {
            throw new DavitException(DavitException.Kind.USAGE, "the password for '" + Text.shorten(username, 60)
                    + "' is missing; give a password");
        }
        return new Credentials(Type.BASIC, username, password, "given credentials");
    }

    /**
     * An identity token (OAuth2 refresh token).
     *
     * @param username the account name if known (informational only), or null or empty
     * @param token the identity token; not empty
     * @return IDENTITY_TOKEN credentials whose source is {@code given credentials}
     * @throws DavitException of kind USAGE if the token is null or empty
     */
    public static Credentials identityToken(String username, String token) {
        if (token == null || token.isEmpty()) {
            throw new DavitException(DavitException.Kind.USAGE, "the identity token is empty; log in again");
        }
        return new Credentials(Type.IDENTITY_TOKEN, username == null ? "" : username, token, "given credentials");
    }

    /**
     * {@return the same credentials with a different {@link #source()} description}
     *
     * @param description where they came from, e.g. {@code auths in /home/u/.docker/config.json}; not null, and
     *                    must hold no secret
     */
    public Credentials withSource(String description) {
        return new Credentials(type, username, secret, Objects.requireNonNull(description, "description"));
    }

    /** {@return which kind of credentials these are} */
    public Type type() {
        return type;
    }

    /** {@return whether these are {@link #anonymous()} credentials} */
    public boolean isAnonymous() {
        return type == Type.ANONYMOUS;
    }

    /** {@return the username; {@code ""} for anonymous credentials and possibly for identity tokens} */
    public String username() {
        return username;
    }

    /** {@return the password or identity token; {@code ""} for anonymous credentials} Never log this. */
    public String secret() {
        return secret;
    }

    /** {@return where these credentials came from, e.g. {@code auths in /home/u/.docker/config.json}} No secrets. */
    public String source() {
        return source;
    }

    /**
     * The {@code Authorization} header value for Basic authentication: {@code Basic base64(username:password)}
     * with UTF-8 (RFC 7617).
     *
     * @return the header value; a secret, never to be logged
     * @throws DavitException of kind AUTH if these are not {@link Type#BASIC} credentials
     */
    public String basicHeaderValue() {
        if (type != Type.BASIC) {
            throw new DavitException(DavitException.Kind.AUTH, "the registry asks for Basic authentication but "
                    + (type == Type.ANONYMOUS ? "no credentials are configured" : "only an identity token is")
                    + " for it; log in with a username and password");
        }
        byte[] raw = (username + ":" + secret).getBytes(StandardCharsets.UTF_8);
        return "Basic " + Base64.getEncoder().encodeToString(raw);
    }

    /** Equal when type, username and secret are equal (the secret is compared in constant time). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Credentials c && type == c.type && username.equals(c.username)
                && MessageDigest.isEqual(secret.getBytes(StandardCharsets.UTF_8),
                        c.secret.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, username);
    }

    /** Type, username and source; the secret is shown only as {@code <redacted>}. */
    @Override
    public String toString() {
        if (type == Type.ANONYMOUS) {
            return "Credentials[anonymous]";
        }
        return "Credentials[" + type.name().toLowerCase(java.util.Locale.ROOT)
                + (username.isEmpty() ? "" : ", username=" + Text.shorten(username, 100))
                + ", secret=<redacted>, source=" + Text.printable(source) + "]";
    }
}
