package dev.davit.env.freshness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Fs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;

/**
 * Answers "is there a newer digest at the registry?" with one HEAD request per reference, cached for a day in a
 * small JSON file, and never fails: an unreachable registry gives {@link Freshness.Status#UNKNOWN} with the
 * reason.
 */
public final class FreshnessChecker {
    /** How long an answer is reused. */
    public static final Duration DEFAULT_TTL = Duration.ofHours(24);

    private final Function<String, String> remoteDigest;
    private final Path cacheFile;
    private final Clock clock;
    private final Duration ttl;

    /**
     * A checker of the davit home {@code davitHome} that asks the registry once, without retries, so that an
     * unreachable registry costs one quick failure; answers are cached {@link #DEFAULT_TTL}.
     *
     * @param base      the registry client's options (credentials, transport)
     * @param davitHome the davit home whose {@code environments/freshness.json} caches the answers
     * @return the checker
     */
    public static FreshnessChecker quick(dev.davit.oci.client.ClientOptions base, Path davitHome) {
        var quick = base.withRegistry(base.registry().toBuilder().maxRetries(0)
                .connectTimeout(Duration.ofSeconds(5)).build());
        return new FreshnessChecker(ref -> {
            try (var c = dev.davit.oci.client.DavitClient.create(quick)) {
                return c.remoteDigest(ref).digest().toString();
            }
        }, davitHome.resolve("environments").resolve("freshness.json"), Clock.systemUTC(), DEFAULT_TTL);
    }

    /**
     * @param remoteDigest asks the registry for a reference's current digest (e.g. a HEAD request through
     *                     {@code DavitClient.remoteDigest}); may throw
     * @param cacheFile    the cache, e.g. {@code $DAVIT_HOME/environments/freshness.json}
     */
    public FreshnessChecker(Function<String, String> remoteDigest, Path cacheFile, Clock clock, Duration ttl) {
        this.remoteDigest = remoteDigest;
        this.cacheFile = cacheFile;
        this.clock = clock;
        this.ttl = ttl;
    }

    /** Checks {@code reference} against the installed digest (null when nothing is installed). */
    public Freshness check(String reference, String installedDigest) {
        Instant now = clock.instant();
        ObjectNode cache = readCache();
        JsonNode hit = cache.path("entries").path(reference);
        if (hit.isObject() && hit.path("digest").isTextual() && hit.path("checked_at").isTextual()) {
            try {
                Instant at = Instant.parse(hit.path("checked_at").asText());
                if (!at.isAfter(now) && Duration.between(at, now).compareTo(ttl) < 0) {
                    return result(reference, installedDigest, hit.path("digest").asText(), at, true);
                }
            } catch (RuntimeException ignored) {
                // a damaged entry is re-checked
            }
        }
        String remote;
        try {
            remote = remoteDigest.apply(reference);
            if (remote == null || !Digest.isValid(remote)) {
                throw new DavitException(DavitException.Kind.VERIFICATION, "the registry sent no valid digest");
            }
        } catch (RuntimeException e) {
            return new Freshness(reference, Freshness.Status.UNKNOWN, installedDigest, null, now, false,
                    e.getMessage() == null ? Message.of(e.getClass().getSimpleName()) : Message.from(e));
        }
        ObjectNode entries = cache.has("entries") && cache.get("entries").isObject()
                ? (ObjectNode) cache.get("entries") : cache.putObject("entries");
        entries.putObject(reference).put("digest", remote).put("checked_at", now.toString());
        writeCache(cache);
        return result(reference, installedDigest, remote, now, false);
    }

    private static Freshness result(String reference, String installed, String remote, Instant at, boolean cached) {
        Freshness.Status s = installed == null ? Freshness.Status.UNKNOWN
                : installed.equals(remote) ? Freshness.Status.UP_TO_DATE : Freshness.Status.UPDATE_AVAILABLE;
        return new Freshness(reference, s, installed, remote, at, cached, installed == null ? Message.of("not installed") : null);
    }

    private ObjectNode readCache() {
        try {
            if (Files.isRegularFile(cacheFile) && Files.size(cacheFile) < (4 << 20)) {
                JsonNode n = Json.read(Files.readAllBytes(cacheFile));
                if (n instanceof ObjectNode o) {
                    return o;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // an unreadable cache is treated as empty and rewritten
        }
        return Json.object();
    }

    private void writeCache(ObjectNode cache) {
        try {
            Files.createDirectories(cacheFile.toAbsolutePath().getParent());
            Fs.writeAtomically(cacheFile, Json.bytes(cache), cacheFile.toAbsolutePath().getParent());
        } catch (IOException ignored) {
            // the cache is an optimisation; a failed write only means the next check asks again
        }
    }
}
