package dev.davit.oci.auth;

import dev.davit.oci.internal.Text;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One authentication challenge from a {@code WWW-Authenticate} response header (RFC 7235 section 4.1), such as
 * {@code Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"}.
 *
 * @param scheme  the auth-scheme, lower-cased ({@code bearer}, {@code basic}, ...)
 * @param params  the auth-params in header order, names lower-cased, quoted values unescaped; unmodifiable
 * @param token68 the token68 a challenge may carry instead of auth-params, or {@code ""}
 */
public record Challenge(String scheme, Map<String, String> params, String token68) {

    /** The lower-cased name of the Bearer scheme (RFC 6750), used by the distribution token protocol. */
    public static final String BEARER = "bearer";
    /** The lower-cased name of the Basic scheme (RFC 7617). */
    public static final String BASIC = "basic";

    /**
     * Normalises the scheme and parameter names to lower case and copies the parameters.
     *
     * @throws IllegalArgumentException if the scheme is empty or two parameter names differ only in case
     */
    public Challenge {
        Objects.requireNonNull(scheme, "scheme");
        if (scheme.isEmpty()) {
            throw new IllegalArgumentException("empty auth-scheme");
        }
        scheme = scheme.toLowerCase(Locale.ROOT);
        Map<String, String> copy = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : (params == null ? Map.<String, String>of() : params).entrySet()) {
            String key = e.getKey().toLowerCase(Locale.ROOT);
            if (copy.put(key, Objects.requireNonNull(e.getValue(), "param value")) != null) {
                throw new IllegalArgumentException("duplicate auth-param " + Text.printable(key));
            }
        }
        params = Collections.unmodifiableMap(copy);
        token68 = token68 == null ? "" : token68;
    }

    /**
     * Parses the values of all {@code WWW-Authenticate} headers of one response, in order. Each value may hold
     * several comma-separated challenges. Parsing is lenient and never throws: a malformed challenge (bad
     * syntax, an unterminated quoted-string, a duplicate parameter) is skipped together with its parameters,
     * and the challenges around it are kept. A null list or null values count as empty.
     *
     * @param headerValues the {@code WWW-Authenticate} header values of one response, in order; may be null
     * @return the well-formed challenges, possibly none
     */
    public static List<Challenge> parse(List<String> headerValues) {
        List<Challenge> out = new ArrayList<>();
        if (headerValues != null) {
            for (String value : headerValues) {
                if (value != null) {
                    new ChallengeParser(value, out).run();
                }
            }
        }
        return List.copyOf(out);
    }

    /**
     * {@link #parse(List)} for a single header value.
     *
     * @param headerValue one {@code WWW-Authenticate} value; may be null
     * @return the well-formed challenges it holds, possibly none; never null
     */
    public static List<Challenge> parse(String headerValue) {
        return parse(Collections.singletonList(headerValue));
    }

    /**
     * The challenge a registry client should answer: the first Bearer challenge, else the first Basic one.
     * A Bearer challenge is returned even without a realm; callers must check {@link #realm()}.
     *
     * @param challenges the parsed challenges of a response; may be null
     * @return the challenge to answer, or empty when there is neither a Bearer nor a Basic one
     */
    public static Optional<Challenge> preferred(List<Challenge> challenges) {
        if (challenges == null) {
            return Optional.empty();
        }
        Optional<Challenge> bearer = challenges.stream().filter(c -> c.is(BEARER)).findFirst();
        return bearer.isPresent() ? bearer : challenges.stream().filter(c -> c.is(BASIC)).findFirst();
    }

    /**
     * {@return whether this challenge uses the given scheme, compared case-insensitively}
     *
     * @param authScheme a scheme name such as {@link #BEARER}
     */
    public boolean is(String authScheme) {
        return scheme.equalsIgnoreCase(authScheme);
    }

    /**
     * {@return the value of an auth-param, looked up case-insensitively; empty when absent}
     *
     * @param name the parameter name, e.g. {@code realm}
     */
    public Optional<String> param(String name) {
        return Optional.ofNullable(params.get(name.toLowerCase(Locale.ROOT)));
    }

    /** {@return the {@code realm} parameter: for Bearer, the URL of the token endpoint} */
    public Optional<String> realm() {
        return param("realm");
    }

    /** {@return the {@code service} parameter of a Bearer challenge} */
    public Optional<String> service() {
        return param("service");
    }

    /**
     * {@return the {@code scope} parameter of a Bearer challenge: space-separated scopes, see
     * {@link Scope#parseAll}}
     */
    public Optional<String> scope() {
        return param("scope");
    }

    /** The challenge in header syntax, with control characters replaced; challenges carry no secrets. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(scheme);
        if (!token68.isEmpty()) {
            b.append(' ').append(token68);
        }
        String sep = " ";
        for (Map.Entry<String, String> e : params.entrySet()) {
            b.append(sep).append(e.getKey()).append("=\"")
                    .append(e.getValue().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            sep = ",";
        }
        return Text.printable(b.toString());
    }
}
