package dev.davit.oci.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.reference.Reference;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Immutable settings of an image build, made once with {@link #builder()}. Conflicting or malformed values are
 * rejected by {@link Builder#build()} with a USAGE error.
 *
 * <p>Unset config values ({@code null}) are inherited from the base image; an empty {@link #cmd()} or
 * {@link #entrypoint()} clears the base's value. As in a Dockerfile, setting an entrypoint without a command
 * clears the base's command. {@link #env()} and {@link #labels()} are merged into the base's, replacing values of
 * the same key.
 *
 * @param base             the base image (a reference, normalised; it must be in the store), or null for none
 * @param cmd              {@code config.Cmd}, or null to inherit
 * @param entrypoint       {@code config.Entrypoint}, or null to inherit
 * @param env              environment variables to set, in order
 * @param workdir          {@code config.WorkingDir} (absolute), or null to inherit
 * @param user             {@code config.User}, or null to inherit
 * @param labels           labels to set
 * @param exposedPorts     {@code config.ExposedPorts} to add, normalised to {@code port/proto}
 * @param volumes          {@code config.Volumes} to add (absolute paths)
 * @param stopSignal       {@code config.StopSignal}, or null to inherit
 * @param healthcheck      {@code config.Healthcheck} (Docker's), or null to inherit
 * @param onBuild          {@code config.OnBuild} (Docker's triggers), or null to inherit; empty: none
 * @param platform         the platform: picks the base from a multi-platform base, and must match a
 *                         single-platform base; without a base it is the image's (default: this machine's)
 * @param compression      how the layer is compressed (default gzip)
 * @param compressionLevel the level, or null for the compression's default
 * @param preserveOwner    keep files' uid/gid and user/group names (default: 0/0, no names)
 * @param owners           owners by path (relative to the directory, {@code /}-separated, no trailing slash) that
 *                         win over the files' own or 0/0: the entry gets this uid/gid and no names. A builder that
 *                         cannot chown (a rootless one) records the owners here instead (default: none)
 * @param keepMtimes       keep files' modification times (default: {@link #fileMtime()})
 * @param fileMtime        the modification time of every entry when times are not kept (default: the epoch)
 * @param created          the config's {@code created} and the history entry's time, or null for none
 */
public record BuildOptions(Reference base, List<String> cmd, List<String> entrypoint, Map<String, String> env,
                           String workdir, String user, Map<String, String> labels, Set<String> exposedPorts,
                           Set<String> volumes, String stopSignal, Healthcheck healthcheck, List<String> onBuild,
                           Platform platform, Compression compression, Integer compressionLevel,
                           boolean preserveOwner, Map<String, Owner> owners, boolean keepMtimes, Instant fileMtime,
                           Instant created) {

    /**
     * A numeric owner of a layer entry.
     *
     * @param uid the user id, not negative
     * @param gid the group id, not negative
     */
    public record Owner(long uid, long gid) {
        /**
         * Checks the ids.
         *
         * @param uid the user id, not negative
         * @param gid the group id, not negative
         * @throws IllegalArgumentException if an id is negative
         */
        public Owner {
            if (uid < 0 || gid < 0) {
                throw new IllegalArgumentException("negative uid or gid");
            }
        }
    }

    /**
     * A container's health check, as Docker's image config has it ({@code config.Healthcheck}).
     *
     * @param test          {@code ["NONE"]} (none, not even the base's), {@code ["CMD", ARGS...]} or
     *                      {@code ["CMD-SHELL", COMMAND]}
     * @param interval      between checks, or null for the runtime's default
     * @param timeout       of one check, or null for the default
     * @param startPeriod   the start-up time failures do not count in, or null for the default
     * @param startInterval between checks in the start period, or null for the default
     * @param retries       failures in a row that make the container unhealthy, or null for the default
     */
    public record Healthcheck(List<String> test, java.time.Duration interval, java.time.Duration timeout,
                              java.time.Duration startPeriod, java.time.Duration startInterval, Integer retries) {
        /** Copies the list. */
        public Healthcheck {
            test = List.copyOf(test);
        }
    }

    /**
     * Copies the collections; {@link #builder()} is the usual way to make options, and the only one that validates.
     *
     * @param base the base image, or null
     * @param cmd the command, or null
     * @param entrypoint the entrypoint, or null
     * @param env environment variables; not null
     * @param workdir the working directory, or null
     * @param user the user, or null
     * @param labels labels; not null
     * @param exposedPorts exposed ports; not null
     * @param volumes volumes; not null
     * @param stopSignal the stop signal, or null
     * @param healthcheck the health check, or null
     * @param onBuild the ONBUILD triggers, or null
     * @param platform the platform, or null
     * @param compression the compression; not null
     * @param compressionLevel the level, or null
     * @param preserveOwner whether files' owners are kept
     * @param owners owners by path; not null
     * @param keepMtimes whether files' modification times are kept
     * @param fileMtime the fixed modification time; not null
     * @param created the creation time, or null
     * @throws NullPointerException if a collection, {@code compression} or {@code fileMtime} is null
     */
    public BuildOptions {
        cmd = cmd == null ? null : List.copyOf(cmd);
        entrypoint = entrypoint == null ? null : List.copyOf(entrypoint);
        onBuild = onBuild == null ? null : List.copyOf(onBuild);
        env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
        labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
        exposedPorts = Collections.unmodifiableSet(new TreeSet<>(exposedPorts));
        volumes = Collections.unmodifiableSet(new TreeSet<>(volumes));
        owners = Map.copyOf(owners);
        Objects.requireNonNull(compression);
        Objects.requireNonNull(fileMtime);
    }

    /** {@return a new builder with the defaults of {@link #defaults()}} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the defaults: no base, gzip, times 0, owners 0} */
    public static BuildOptions defaults() {
        return builder().build();
    }

    /** {@return the level used: {@link #compressionLevel()} or the compression's default} */
    public int effectiveLevel() {
        return compressionLevel != null ? compressionLevel : compression.defaultLevel();
    }

    /**
     * The instant of {@code SOURCE_DATE_EPOCH} in {@code env} (seconds since the epoch, see
     * reproducible-builds.org), or null when unset or empty.
     *
     * @param env the environment variables, e.g. {@link System#getenv()}
     * @return the instant, or null
     * @throws DavitException USAGE when it is not a non-negative integer
     */
    public static Instant sourceDateEpoch(Map<String, String> env) {
        String v = env.get("SOURCE_DATE_EPOCH");
        if (v == null || v.isBlank()) {
            return null;
        }
        try {
            long s = Long.parseLong(v.trim());
            if (s >= 0 && s <= 253402300799L) {
                return Instant.ofEpochSecond(s);
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw usage("SOURCE_DATE_EPOCH='" + Text.shorten(v, 30) + "' is not a number of seconds since 1970;"
                + " unset it or give e.g. $(git log -1 --format=%ct)");
    }

    /** {@return a builder holding these settings, to change some of them} */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.base = base;
        b.cmd = cmd;
        b.entrypoint = entrypoint;
        b.env.putAll(env);
        b.workdir = workdir;
        b.user = user;
        b.labels.putAll(labels);
        b.exposedPorts.addAll(exposedPorts);
        b.volumes.addAll(volumes);
        b.stopSignal = stopSignal;
        b.healthcheck = healthcheck;
        b.onBuild = onBuild;
        b.platform = platform;
        b.compression = compression;
        b.compressionLevel = compressionLevel;
        b.preserveOwner = preserveOwner;
        b.owners = owners;
        b.keepMtimes = keepMtimes;
        b.fileMtime = keepMtimes || Instant.EPOCH.equals(fileMtime) ? null : fileMtime;
        b.created = created;
        return b;
    }

    private static DavitException usage(String message) {
        return new DavitException(Kind.USAGE, message);
    }

    /** Collects settings; {@link #build()} validates them together. Not thread-safe. */
    public static final class Builder {
        private Reference base;
        private List<String> cmd;
        private List<String> entrypoint;
        private final Map<String, String> env = new LinkedHashMap<>();
        private final List<String> errors = new ArrayList<>();
        private String workdir;
        private String user;
        private final Map<String, String> labels = new LinkedHashMap<>();
        private final Set<String> exposedPorts = new TreeSet<>();
        private final Set<String> volumes = new TreeSet<>();
        private String stopSignal;
        private Healthcheck healthcheck;
        private List<String> onBuild;
        private Platform platform;
        private Compression compression = Compression.GZIP;
        private Integer compressionLevel;
        private boolean preserveOwner;
        private Map<String, Owner> owners = Map.of();
        private boolean keepMtimes;
        private Instant fileMtime;
        private Instant created;

        private Builder() {
        }

        /**
         * Sets the base image; default none.
         *
         * @param reference the base image, e.g. {@code alpine:3.20}; null for none
         * @return this builder
         * @throws DavitException USAGE at once if the reference is malformed
         */
        public Builder base(String reference) {
            this.base = reference == null ? null : Reference.parse(reference);
            return this;
        }

        /**
         * Sets the base image; default none.
         *
         * @param reference the base image, which must be in the store when building; null for none
         * @return this builder
         */
        public Builder base(Reference reference) {
            this.base = reference;
            return this;
        }

        /**
         * Sets {@code config.Cmd}; an empty list clears the base's, null inherits it.
         *
         * @param args the command and its arguments; no null elements
         * @return this builder
         */
        public Builder cmd(List<String> args) {
            this.cmd = args;
            return this;
        }

        /**
         * Sets {@code config.Entrypoint}; an empty list clears the base's, null inherits it.
         *
         * @param args the entrypoint and its arguments; no null elements
         * @return this builder
         */
        public Builder entrypoint(List<String> args) {
            this.entrypoint = args;
            return this;
        }

        /**
         * Sets an environment variable (a later value of the same key wins). An invalid one fails {@link #build()}.
         *
         * @param key the name; not empty, no {@code '='} or NUL
         * @param value the value; not null, no NUL
         * @return this builder
         */
        public Builder env(String key, String value) {
            if (key == null || key.isEmpty() || key.indexOf('=') >= 0 || key.indexOf('\0') >= 0 || value == null
                    || value.indexOf('\0') >= 0) {
                errors.add("invalid environment variable '" + Text.shorten(key == null ? "" : key, 60)
                        + "': the name must be non-empty without '='");
            } else {
                env.remove(key);
                env.put(key, value);
            }
            return this;
        }

        /**
         * Sets an environment variable from {@code KEY=VALUE}. An invalid one fails {@link #build()}.
         *
         * @param keyValue the variable, split at the first {@code '='}
         * @return this builder
         */
        public Builder env(String keyValue) {
            int eq = keyValue == null ? -1 : keyValue.indexOf('=');
            if (eq <= 0) {
                errors.add("invalid environment variable '" + Text.shorten(keyValue == null ? "" : keyValue, 60)
                        + "': use KEY=VALUE");
                return this;
            }
            return env(keyValue.substring(0, eq), keyValue.substring(eq + 1));
        }

        /**
         * Sets {@code config.WorkingDir}; null inherits the base's.
         *
         * @param dir an absolute path in the image
         * @return this builder
         */
        public Builder workdir(String dir) {
            this.workdir = dir;
            return this;
        }

        /**
         * Sets {@code config.User}; null inherits the base's.
         *
         * @param user {@code user}, {@code uid}, {@code user:group} or {@code uid:gid}
         * @return this builder
         */
        public Builder user(String user) {
            this.user = user;
            return this;
        }

        /**
         * Sets a label (a later value of the same key wins). An invalid one fails {@link #build()}.
         *
         * @param key the label key; not empty
         * @param value the value; not null
         * @return this builder
         */
        public Builder label(String key, String value) {
            if (key == null || key.isEmpty() || value == null) {
                errors.add("invalid label '" + Text.shorten(key == null ? "" : key, 60)
                        + "': use KEY=VALUE with a non-empty key");
            } else {
                labels.remove(key);
                labels.put(key, value);
            }
            return this;
        }

        /**
         * Sets a label from {@code KEY=VALUE}. An invalid one fails {@link #build()}.
         *
         * @param keyValue the label, split at the first {@code '='}
         * @return this builder
         */
        public Builder label(String keyValue) {
            int eq = keyValue == null ? -1 : keyValue.indexOf('=');
            if (eq <= 0) {
                errors.add("invalid label '" + Text.shorten(keyValue == null ? "" : keyValue, 60)
                        + "': use KEY=VALUE");
                return this;
            }
            return label(keyValue.substring(0, eq), keyValue.substring(eq + 1));
        }

        /**
         * Adds an exposed port. An invalid one fails {@link #build()}.
         *
         * @param port {@code 8080}, {@code 8080/tcp}, {@code 53/udp} or {@code PORT/sctp}; the port 1-65535
         * @return this builder
         */
        public Builder exposedPort(String port) {
            exposedPorts.add(port);
            return this;
        }

        /**
         * Adds a volume ({@code config.Volumes}): a path the image says holds data. An invalid one fails
         * {@link #build()}.
         *
         * @param path an absolute path
         * @return this builder
         */
        public Builder volume(String path) {
            volumes.add(path);
            return this;
        }

        /**
         * Sets the signal that stops a container of the image ({@code config.StopSignal}). An invalid one fails
         * {@link #build()}.
         *
         * @param signal a name ({@code SIGTERM}) or number, or null to inherit
         * @return this builder
         */
        public Builder stopSignal(String signal) {
            this.stopSignal = signal;
            return this;
        }

        /**
         * Sets the health check ({@code config.Healthcheck}, Docker's).
         *
         * @param check the check, or null to inherit
         * @return this builder
         */
        public Builder healthcheck(Healthcheck check) {
            this.healthcheck = check;
            return this;
        }

        /**
         * Sets the ONBUILD triggers ({@code config.OnBuild}, Docker's): instructions a build FROM the image runs.
         *
         * @param triggers the triggers, as written; empty for none; null to inherit
         * @return this builder
         */
        public Builder onBuild(List<String> triggers) {
            this.onBuild = triggers;
            return this;
        }

        /**
         * Sets the platform (see {@link BuildOptions#platform()}); default this machine's.
         *
         * @param platform the platform, normalised when built; null for the default
         * @return this builder
         */
        public Builder platform(Platform platform) {
            this.platform = platform;
            return this;
        }

        /**
         * Sets how the layer is compressed; default gzip.
         *
         * @param compression the compression; not null
         * @return this builder
         */
        public Builder compression(Compression compression) {
            this.compression = Objects.requireNonNull(compression);
            return this;
        }

        /**
         * Sets the compression level.
         *
         * @param level gzip 1-9, zstd 1-22; not allowed with {@link Compression#NONE}. Null for the default
         * @return this builder
         */
        public Builder compressionLevel(Integer level) {
            this.compressionLevel = level;
            return this;
        }

        /**
         * Sets whether files' uid/gid and user/group names are kept; default no (0/0, no names).
         *
         * @param preserve true to keep them
         * @return this builder
         */
        public Builder preserveOwner(boolean preserve) {
            this.preserveOwner = preserve;
            return this;
        }

        /**
         * Sets owners by relative path that win over the files' own (see {@link BuildOptions#owners()}).
         *
         * @param owners owners by {@code /}-separated path relative to the directory; not null
         * @return this builder
         */
        public Builder owners(Map<String, Owner> owners) {
            this.owners = Objects.requireNonNull(owners, "owners");
            return this;
        }

        /**
         * Sets whether files' modification times are kept; conflicts with {@link #fileMtime(Instant)}.
         *
         * @param keep true to keep them; default false
         * @return this builder
         */
        public Builder keepMtimes(boolean keep) {
            this.keepMtimes = keep;
            return this;
        }

        /**
         * Sets the modification time of every entry; conflicts with {@link #keepMtimes(boolean)}.
         *
         * @param time the time, cut to whole seconds; null for the default, the epoch
         * @return this builder
         */
        public Builder fileMtime(Instant time) {
            this.fileMtime = time;
            return this;
        }

        /**
         * Sets the config's {@code created} time.
         *
         * @param time the time; null (the default) leaves it out
         * @return this builder
         */
        public Builder created(Instant time) {
            this.created = time;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the options
         * @throws DavitException USAGE naming the first problem
         */
        public BuildOptions build() {
            if (!errors.isEmpty()) {
                throw usage(errors.get(0));
            }
            if (keepMtimes && fileMtime != null) {
                throw new DavitException(DavitException.Kind.USAGE, Message.of("keeping files' modification times"
                        + " conflicts with a fixed modification time; choose one (", Input.KEEP_MTIMES, ", or ",
                        Input.FILE_MTIME, ")"));
            }
            if (compressionLevel != null) {
                if (compression == Compression.NONE) {
                    throw usage("a compression level needs gzip or zstd compression, not none");
                }
                if (compressionLevel < compression.minLevel() || compressionLevel > compression.maxLevel()) {
                    throw usage("compression level " + compressionLevel + " is out of range for "
                            + compression.id() + "; use " + compression.minLevel() + "-" + compression.maxLevel());
                }
            }
            if (base != null && base.tag() == null && base.digest() == null) {
                throw usage("invalid base reference " + base);
            }
            if (workdir != null && !workdir.startsWith("/")) {
                throw usage("working directory '" + Text.shorten(workdir, 60) + "' must be an absolute path");
            }
            if (user != null && (user.isBlank() || user.chars().anyMatch(c -> c <= ' ' || c == 0x7f))) {
                throw usage("user '" + Text.shorten(user, 60) + "' must be a name or id, with an optional :group");
            }
            List<String> ports = new ArrayList<>();
            for (String p : exposedPorts) {
                ports.add(port(p));
            }
            checkArgs("command", cmd);
            checkArgs("entrypoint", entrypoint);
            Instant mtime = fileMtime == null ? Instant.EPOCH : Instant.ofEpochSecond(fileMtime.getEpochSecond());
            for (String v : volumes) {
                if (!v.startsWith("/") || v.chars().anyMatch(c -> c < ' ' || c == 0x7f)) {
                    throw usage("volume '" + Text.shorten(v, 60) + "' must be an absolute path");
                }
            }
            if (stopSignal != null && !stopSignal.matches("(SIG)?[A-Z][A-Z0-9+-]{0,15}|[0-9]{1,2}")) {
                throw usage("stop signal '" + Text.shorten(stopSignal, 30) + "' must be a signal's name or number,"
                        + " e.g. SIGTERM or 15");
            }
            return new BuildOptions(base, cmd, entrypoint, env, workdir, user, labels, Set.copyOf(ports),
                    volumes, stopSignal, healthcheck, onBuild, platform == null ? null : Platform.normalize(platform),
                    compression, compressionLevel,
                    preserveOwner, owners, keepMtimes, mtime, created);
        }

        private static void checkArgs(String what, List<String> args) {
            if (args != null && args.stream().anyMatch(Objects::isNull)) {
                throw usage("the " + what + " must not contain null arguments");
            }
        }

        private static String port(String text) {
            String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
            String proto = "tcp";
            int slash = t.indexOf('/');
            String num = t;
            if (slash >= 0) {
                proto = t.substring(slash + 1);
                num = t.substring(0, slash);
            }
            boolean ok = (proto.equals("tcp") || proto.equals("udp") || proto.equals("sctp"))
                    && !num.isEmpty() && num.length() <= 5 && num.chars().allMatch(c -> c >= '0' && c <= '9');
            if (ok) {
                int n = Integer.parseInt(num);
                if (n >= 1 && n <= 65535) {
                    return n + "/" + proto;
                }
            }
            throw usage("invalid exposed port '" + Text.shorten(text == null ? "" : text, 30)
                    + "': use PORT[/tcp|udp|sctp] with a port of 1-65535");
        }
    }
}
