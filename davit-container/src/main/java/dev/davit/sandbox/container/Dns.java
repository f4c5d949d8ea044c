package dev.davit.sandbox.container;

import dev.davit.sandbox.Network;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The {@code /etc/resolv.conf} a sandbox with a network gets, bound read-only over the image's: with NAT, the DNS
 * forwarder of slirp4netns ({@value #NAT_RESOLVER}, which asks the host's resolvers, loopback ones included); with
 * the host's network, the host's own file. The image's file (often a copy of whatever host built it) is never used,
 * and never written.
 */
public final class Dns {
    /** slirp4netns's (and QEMU user-mode networking's) DNS forwarder. */
    static final String NAT_RESOLVER = Network.NAT_RESOLVER;
    /** The file in the sandbox's state directory that is bound on /etc/resolv.conf. */
    static final String FILE = "resolv.conf";

    private Dns() {
    }

    /**
     * Writes the resolver file for {@code network} into {@code state} and returns it, or returns null when nothing is
     * bound: no network, no {@code /etc} directory in the image, an {@code /etc/resolv.conf} that is a symbolic link
     * (binding would follow it), or a missing one under a read-only root (no mount point can be made).
     */
    static Path prepare(Path rootfs, MountPoints.Root root, Network network, Path state) throws IOException {
        if (!network.enabled() || !Files.isDirectory(rootfs.resolve("etc"), LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        Path target = rootfs.resolve("etc").resolve("resolv.conf");
        boolean file = Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS);
        if (!file && (root.readOnly() || Files.exists(target, LinkOption.NOFOLLOW_LINKS))) {
            return null;
        }
        String content = network.resolvConf();
        if (content == null) {
            return null;
        }
        Path out = state.resolve(FILE);
        Files.writeString(out, content, StandardCharsets.UTF_8);
        return out;
    }
}
