package dev.davit.oci.manifest;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.util.List;
import java.util.Locale;

/**
 * An OCI platform: {@code os/architecture[/variant]} plus the optional {@code os.version} and {@code os.features}.
 *
 * <p>Architecture names are normalised the way containerd does ({@code x86_64} -> {@code amd64},
 * {@code aarch64} -> {@code arm64}); {@code arm64} without a variant means {@code v8}, {@code arm} without a
 * variant means {@code v7}.
 *
 * @param os the operating system, e.g. {@code linux}; not empty
 * @param architecture the CPU architecture in Go's naming, e.g. {@code amd64}, {@code arm64}; not empty
 * @param variant the CPU variant, e.g. {@code v8} for arm64 or {@code v3} for amd64; null when none
 * @param osVersion the {@code os.version}, e.g. a Windows build number; null when none
 * @param osFeatures the {@code os.features}; never null, empty when none
 */
public record Platform(String os, String architecture, String variant, String osVersion, List<String> osFeatures) {

    /**
     * Checks the components; empty {@code variant} and {@code osVersion} become null, null {@code osFeatures} empty.
     * Names are kept as given: {@link #normalize(Platform)} normalises them.
     *
     * @param os the operating system, not null or empty
     * @param architecture the architecture, not null or empty
     * @param variant the variant, or null
     * @param osVersion the OS version, or null
     * @param osFeatures the OS features, or null
     * @throws IllegalArgumentException if os or architecture is missing
     */
    public Platform {
        if (os == null || os.isEmpty() || architecture == null || architecture.isEmpty()) {
            throw new IllegalArgumentException("os and architecture are required");
        }
        osFeatures = osFeatures == null ? List.of() : List.copyOf(osFeatures);
        variant = variant == null || variant.isEmpty() ? null : variant;
        osVersion = osVersion == null || osVersion.isEmpty() ? null : osVersion;
    }

    /**
     * A platform with no {@code os.version} or {@code os.features}.
     *
     * @param os the operating system, not null or empty
     * @param architecture the architecture, not null or empty
     * @param variant the variant, or null
     */
    public Platform(String os, String architecture, String variant) {
        this(os, architecture, variant, null, List.of());
    }

    /**
     * Parses {@code os/arch[/variant]} (e.g. {@code linux/arm64/v8}) or a bare {@code arch}, meaning
     * {@code linux/arch}.
     *
     * @param text the platform as a user writes it; surrounding white space is ignored
     * @return the normalised platform
     * @throws DavitException of kind USAGE for malformed text
     */
    public static Platform parse(String text) {
        if (text == null || text.isBlank()) {
            throw invalid(text == null ? "" : text);
        }
        String[] parts = text.trim().split("/", -1);
        for (String p : parts) {
            if (p.isEmpty() || !p.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
                throw invalid(text);
            }
        }
        return switch (parts.length) {
            case 1 -> normalize(new Platform("linux", parts[0], null));
            case 2 -> normalize(new Platform(parts[0], parts[1], null));
            case 3 -> normalize(new Platform(parts[0], parts[1], parts[2]));
            default -> throw invalid(text);
        };
    }

    private static DavitException invalid(String text) {
        return new DavitException(DavitException.Kind.USAGE, "invalid platform '" + Text.shorten(text, 60)
                + "': use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8");
    }

    /** {@return the platform of the running JVM, normalised} The os is always {@code linux}, for container content. */
    public static Platform host() {
        return normalize(new Platform("linux", System.getProperty("os.arch", "amd64"), null));
    }

    /**
     * Normalises os and architecture names and fills default variants.
     *
     * @param p the platform to normalise
     * @return an equivalent platform with lower-case, canonical names; {@code os.version} and features kept
     */
    public static Platform normalize(Platform p) {
        String os = p.os.toLowerCase(Locale.ROOT);
        if (os.equals("macos")) {
            os = "darwin";
        }
        String arch = p.architecture.toLowerCase(Locale.ROOT);
        String variant = p.variant == null ? null : p.variant.toLowerCase(Locale.ROOT);
        switch (arch) {
            case "x86_64", "x86-64", "amd64" -> {
                arch = "amd64";
                if ("v1".equals(variant)) {
                    variant = null;
                }
            }
            case "i386", "i486", "i586", "i686", "x86", "386" -> arch = "386";
            case "aarch64", "arm64" -> {
                arch = "arm64";
                if (variant == null || variant.equals("8")) {
                    variant = "v8";
                }
            }
            case "armhf" -> {
                arch = "arm";
                variant = "v7";
            }
            case "armel" -> {
                arch = "arm";
                variant = "v6";
            }
            case "arm" -> {
                if (variant == null) {
                    variant = "v7";
                } else if (variant.matches("[5-8]")) {
                    variant = "v" + variant;
                }
            }
            default -> {
            }
        }
        return new Platform(os, arch, variant, p.osVersion, p.osFeatures);
    }

    /**
     * Whether an image for {@code candidate} can run on this platform. Same os and architecture after
     * normalisation; for {@code amd64}, a candidate variant up to this one's (v1 &lt;= v2 &lt;= v3 &lt;= v4), where
     * a candidate variant that is not a level {@code v<n>} matches only itself and every amd64 platform accepts
     * the baseline (no variant, or v1). Otherwise the variants must be equal.
     *
     * @param candidate the platform an image was built for
     * @return true if such an image can run here
     */
    public boolean accepts(Platform candidate) {
        Platform want = normalize(this);
        Platform have = normalize(candidate);
        if (!want.os.equals(have.os) || !want.architecture.equals(have.architecture)) {
            return false;
        }
        if (java.util.Objects.equals(want.variant, have.variant)) {
            return true;
        }
        if (want.architecture.equals("amd64")) {
            int haveLevel = amd64Level(have.variant);
            int wantLevel = amd64Level(want.variant);
            return haveLevel == 1 || (haveLevel > 0 && wantLevel > 0 && haveLevel <= wantLevel);
        }
        return false;
    }

    /**
     * Ranks a candidate this platform {@linkplain #accepts(Platform) accepts}: higher is a better match (prefers
     * the most specific amd64 level).
     *
     * @param candidate an accepted candidate platform
     * @return the rank, at least 1
     */
    public int score(Platform candidate) {
        Platform have = normalize(candidate);
        return have.architecture.equals("amd64") ? Math.max(1, amd64Level(have.variant)) : 1;
    }

    /** The microarchitecture level of a normalised amd64 variant: 1 for none, n for {@code v<n>}, else -1. */
    private static int amd64Level(String variant) {
        if (variant == null) {
            return 1;
        }
        if (variant.length() < 2 || variant.length() > 3 || variant.charAt(0) != 'v') {
            return -1;
        }
        int level = 0;
        for (int i = 1; i < variant.length(); i++) {
            char c = variant.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            level = level * 10 + (c - '0');
        }
        return level > 0 ? level : -1;
    }

    /** {@code os/arch[/variant]}. */
    @Override
    public String toString() {
        return os + "/" + architecture + (variant == null ? "" : "/" + variant);
    }
}
