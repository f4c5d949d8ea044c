package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A long-lived sandbox to create (see {@link Sandboxes#create}).
 *
 * @param rootfs  the root filesystem directory; mounted read-only and never written. It needs a {@code sleep}
 *                command (in /bin, /usr/bin, /sbin or /usr/sbin): the sandbox's keeper process runs it
 * @param env     variables set on top of the image's {@code Env} for every exec
 * @param workdir the default working directory of execs (default: the image's {@code WorkingDir}, else /)
 * @param network whether the sandbox shares the host's network
 * @param image   the image's run defaults (Env, WorkingDir; Entrypoint/Cmd/User are not used by exec)
 * @param ttl     how long after creation {@link Sandboxes#reap} may remove it; null means never
 */
public record CreateSpec(Path rootfs, Map<String, String> env, String workdir, boolean network, ImageConfig image,
                         Duration ttl) {
    public CreateSpec {
        Objects.requireNonNull(rootfs, "rootfs");
        env = env == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(env));
        image = image == null ? ImageConfig.EMPTY : image;
        if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
            throw new DavitException(Kind.USAGE, "the ttl must be positive");
        }
        // the same checks as a run
        new RunSpec(rootfs, null, env, workdir, null, network, image);
    }
}
