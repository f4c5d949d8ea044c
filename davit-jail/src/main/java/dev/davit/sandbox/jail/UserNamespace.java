package dev.davit.sandbox.jail;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A new user namespace for one sandbox, owned by the host uid of the sandbox's user (sandbox root, or the image's
 * User) and mapping sandbox ids
 * {@code 0..count-1} to the {@link IdRange}: made by a helper process, {@code davit-exec userns UID GID} (or,
 * without it, {@code setpriv --reuid=UID --regid=GID --clear-groups -- unshare --user -- cat}), whose maps davit (root) then
 * writes. bubblewrap, started as that same host uid, joins it with {@code --userns FD}: it has every capability
 * there (as its owner) to set the sandbox up, already as the sandbox's user (so it never has to change its uid,
 * which would cost it those capabilities before it is done), then keeps only {@link Capabilities#DEFAULT} (root)
 * or none (any other user). The namespace lives
 * as long as a process is in it; the helper ends when {@link #close} closes its input.
 */
final class UserNamespace implements AutoCloseable {
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Process helper;

    private UserNamespace(Process helper) {
        this.helper = helper;
    }

    /**
     * With {@code helper} (davit-exec, may be null) one program does it all: {@code davit-exec userns UID GID}
     * (one exec instead of three).
     */
    static UserNamespace create(IdRange range, int[] ids, Path helper, Path setpriv, Path unshare, Path cat) {
        ProcessBuilder pb = new ProcessBuilder(helper != null ? List.of(helper.toString(), "userns",
                Long.toString(range.hostUid(ids[0])), Long.toString(range.hostGid(ids[1])))
                : List.of(setpriv.toString(), "--reuid=" + range.hostUid(ids[0]), "--regid="
                        + range.hostGid(ids[1]), "--clear-groups", "--", unshare.toString(), "--user", "--",
                        cat.toString()));
        pb.environment().clear();
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.directory(new java.io.File("/"));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + pb.command().get(0) + ": " + e.getMessage());
        }
        UserNamespace ns = new UserNamespace(p);
        try {
            Path proc = Path.of("/proc", Long.toString(p.pid()));
            Path mine = Files.readSymbolicLink(Path.of("/proc/self/ns/user"));
            long deadline = System.nanoTime() + WAIT_NANOS;
            while (Files.readSymbolicLink(proc.resolve("ns/user")).equals(mine)) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    throw new DavitException(Kind.INTERNAL, Message.of("the sandbox's user namespace could not be made"
                            + " (setpriv/unshare " + (p.isAlive() ? "did not unshare in time" : "exited with "
                            + p.exitValue()) + "); see ", Action.DOCTOR.fix()));
                }
                Thread.onSpinWait();
            }
            Files.write(proc.resolve("uid_map"), range.uidMap().getBytes(StandardCharsets.US_ASCII));
            Files.write(proc.resolve("gid_map"), range.gidMap().getBytes(StandardCharsets.US_ASCII));
            return ns;
        } catch (IOException e) {
            ns.close();
            throw new DavitException(Kind.INTERNAL, "cannot map the sandbox's user namespace to " + range + ": "
                    + e.getMessage());
        } catch (RuntimeException e) {
            ns.close();
            throw e;
        }
    }

    /** The namespace's file ({@code /proc/PID/ns/user}): valid while this is open. */
    Path path() {
        return Path.of("/proc", Long.toString(helper.pid()), "ns", "user");
    }

    @Override
    public void close() {
        try {
            helper.getOutputStream().close();
        } catch (IOException e) {
            // it is killed below anyway
        }
        helper.destroyForcibly();
    }
}
