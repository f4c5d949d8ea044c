package dev.davit.oci.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import java.io.IOException;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * A bearer token from a registry token endpoint (the distribution token authentication specification), parsed
 * from its JSON body: {@code {"token": "...", "access_token": "...", "expires_in": 300,
 * "issued_at": "2024-05-01T12:00:00Z", "refresh_token": "..."}}. Immutable; {@link #toString()} redacts.
 */
public final class TokenResponse {

    /** The lifetime assumed when {@code expires_in} is absent, invalid or shorter (the spec's minimum). */
    public static final Duration MIN_EXPIRES_IN = Duration.ofSeconds(60);
    /** Longer lifetimes are cut to this, which also keeps instant arithmetic in range. */
    public static final Duration MAX_EXPIRES_IN = Duration.ofDays(366);
    /** Bodies larger than this are rejected. */
    public static final int MAX_BODY_BYTES = 1024 * 1024;

    private final String token;
    private final Duration expiresIn;
    private final Instant issuedAt;
    private final String refreshToken;

    private TokenResponse(String token, Duration expiresIn, Instant issuedAt, String refreshToken) {
        this.token = token;
        this.expiresIn = expiresIn;
        this.issuedAt = issuedAt;
        this.refreshToken = refreshToken;
    }

    /**
     * Builds a token response directly.
     *
     * @param token        the bearer token; not empty, printable ASCII without spaces
     * @param expiresIn    the lifetime; null, or less than {@link #MIN_EXPIRES_IN}, means the minimum, and
     *                     more than {@link #MAX_EXPIRES_IN} is cut to that
     * @param issuedAt     when the token was issued; null means {@code now}, and a time after {@code now} (clock
     *                     skew) is taken as {@code now} so that skew cannot lengthen the token's life
     * @param refreshToken an OAuth2 refresh token, or null or empty
     * @param clock        the source of {@code now}
     * @return the token response
     * @throws DavitException of kind AUTH if the token is empty or holds characters not allowed in a header
     */
    public static TokenResponse of(String token, Duration expiresIn, Instant issuedAt, String refreshToken,
            Clock clock) {
        if (token == null || token.isEmpty()) {
            throw bad("has no 'token' or 'access_token'");
        }
        if (!isHeaderSafe(token)) {
            throw bad("has a token with characters not allowed in an HTTP header");
        }
        Duration life = expiresIn == null || expiresIn.compareTo(MIN_EXPIRES_IN) < 0 ? MIN_EXPIRES_IN
                : expiresIn.compareTo(MAX_EXPIRES_IN) > 0 ? MAX_EXPIRES_IN : expiresIn;
        Instant now = clock.instant();
        Instant issued = issuedAt == null || issuedAt.isAfter(now) ? now : issuedAt;
        return new TokenResponse(token, life, issued, refreshToken == null ? "" : refreshToken);
    }

    /**
     * {@link #parse(byte[], Clock)} with the system clock.
     *
     * @param body the token endpoint's response body
     * @return the token response
     * @throws DavitException of kind AUTH when the body is not a valid token response
     */
    public static TokenResponse parse(byte[] body) {
        return parse(body, Clock.systemUTC());
    }

    /**
     * Parses a token endpoint's JSON body. The token is {@code token} if non-empty, else {@code access_token};
     * {@code expires_in} (seconds) and {@code issued_at} (RFC 3339) are optional and treated as described in
     * {@link #of}; an invalid {@code expires_in} or {@code issued_at} counts as absent.
     *
     * @param body  the token endpoint's response body, at most {@link #MAX_BODY_BYTES}
     * @param clock the source of {@code now} for a missing {@code issued_at}; use the {@link TokenCache}'s
     * @return the token response
     * @throws DavitException of kind AUTH, whose message never quotes the body (it may hold secrets)
     */
    public static TokenResponse parse(byte[] body, Clock clock) {
        Objects.requireNonNull(clock, "clock");
        if (body == null || body.length == 0) {
            throw bad("is empty");
        }
        if (body.length > MAX_BODY_BYTES) {
            throw bad("is over " + MAX_BODY_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = Json.read(body);
        } catch (IOException | RuntimeException e) {
            // the parser's message may quote the body, which may hold a secret: keep neither message nor cause
            throw bad("is not valid JSON");
        }
        if (!(root instanceof ObjectNode obj)) {
            throw bad("is not a JSON object");
        }
        String token = text(obj, "token");
        if (token.isEmpty()) {
            token = text(obj, "access_token");
        }
        return of(token, expiresIn(obj.get("expires_in")), issuedAt(text(obj, "issued_at")),
                text(obj, "refresh_token"), clock);
    }

    /** {@return the bearer token} Never log this. */
    public String token() {
        return token;
    }

    /** {@return the {@code Authorization} header value {@code Bearer <token>}} Never log this. */
    public String bearerHeaderValue() {
        return "Bearer " + token;
    }

    /** {@return the token's lifetime, between {@link #MIN_EXPIRES_IN} and {@link #MAX_EXPIRES_IN}} */
    public Duration expiresIn() {
        return expiresIn;
    }

    /** {@return when the token was issued, never after the time it was parsed} */
    public Instant issuedAt() {
        return issuedAt;
    }

    /** {@return when the token expires: {@link #issuedAt()} plus {@link #expiresIn()}} */
    public Instant expiresAt() {
        return issuedAt.plus(expiresIn);
    }

    /**
     * {@return the OAuth2 refresh token, if the endpoint returned one (only when asked with {@code offline_token})}
     * Never log it.
     */
    public Optional<String> refreshToken() {
        return refreshToken.isEmpty() ? Optional.empty() : Optional.of(refreshToken);
    }

    /** Lifetime and times only; the tokens are shown as {@code <redacted>}. */
    @Override
    public String toString() {
        return "TokenResponse[token=<redacted>, expiresIn=" + expiresIn + ", issuedAt=" + issuedAt
                + (refreshToken.isEmpty() ? "" : ", refreshToken=<redacted>") + "]";
    }

    private static String text(ObjectNode obj, String field) {
        JsonNode n = obj.get(field);
        return n != null && n.isTextual() ? n.textValue() : "";
    }

    private static Duration expiresIn(JsonNode n) {
        if (n == null || !n.isNumber()) {
            return null;
        }
        if (n.isIntegralNumber()) {
            return n.canConvertToLong() ? Duration.ofSeconds(Math.min(n.longValue(), MAX_EXPIRES_IN.toSeconds()))
                    : n.bigIntegerValue().signum() > 0 ? MAX_EXPIRES_IN : null;
        }
        double d = n.doubleValue();
        return Double.isNaN(d) ? null : Duration.ofSeconds((long) Math.min(d, MAX_EXPIRES_IN.toSeconds()));
    }

    private static Instant issuedAt(String text) {
        if (text.isEmpty()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(text.toUpperCase(Locale.ROOT), DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                    .toInstant();
        } catch (DateTimeException e) {
            return null;
        }
    }

    private static boolean isHeaderSafe(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    private static DavitException bad(String problem) {
        return new DavitException(DavitException.Kind.AUTH, "the token endpoint's response " + problem
                + "; check that the realm in the registry's WWW-Authenticate challenge is its token service");
    }
}
