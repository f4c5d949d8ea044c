package dev.davit.sandbox.jail;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A sandbox's process limit where davit cannot make cgroups (rootless without a delegated cgroup v2): the kernel's
 * {@code RLIMIT_NPROC}, soft and hard, set with {@code prlimit} on the first process of the sandbox's chain, so
 * every process of the sandbox has it and none can raise it. The kernel counts it per user: a fork in the sandbox
 * fails (EAGAIN) once the user's processes and threads, all of them (davit's own and other sandboxes' too), pass
 * it; sandbox root is no exception (its capabilities are its user namespace's). So the limit davit sets is the
 * sandbox's own limit on top of what the user runs when the sandbox starts ({@link #forSandbox}): a fork loop in the
 * sandbox stops after about that many processes, and several sandboxes of one user share what the others leave.
 */
public final class NprocLimit {
    /** What {@code "enforced_by"} says of limits enforced this way. */
    public static final String NAME = dev.davit.sandbox.host.CgroupProbe.NPROC_LIMIT;

    private NprocLimit() {
    }

    /**
     * The {@code RLIMIT_NPROC} for a sandbox limited to {@code pids} processes: the processes and threads this
     * user has now plus {@code pids}, at most this process's own hard limit (a limit is never raised).
     *
     * @param pids the sandbox's process limit, more than 0
     * @return the limit to set
     */
    public static long forSandbox(long pids) {
        long hard = ownHardLimit();
        long n = userTasks() + pids;
        return hard > 0 ? Math.min(hard, n) : n;
    }

    /**
     * {@code cmd} started with {@code RLIMIT_NPROC} {@code limit} (soft and hard) by {@code prlimit}.
     *
     * @param limit the limit ({@link #forSandbox})
     * @param cmd   the chain's command
     * @return {@code prlimit --nproc=L:L -- cmd...}
     * @throws DavitException HOST_UNSUPPORTED when prlimit (util-linux) is not installed
     */
    public static List<String> wrap(long limit, List<String> cmd) {
        Path prlimit = Jail.hostProgram("prlimit");
        if (prlimit == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("prlimit (util-linux) is not installed; it bounds a"
                    + " sandbox's processes where cgroups cannot be made; install util-linux, or ",
                    Action.RUN_WITHOUT_LIMITS.fix()));
        }
        List<String> a = new ArrayList<>(List.of(prlimit.toString(), "--nproc=" + limit + ":" + limit, "--"));
        a.addAll(cmd);
        return a;
    }

    /** The processes and threads of this process's real user (the kernel's count for RLIMIT_NPROC). */
    static long userTasks() {
        int uid;
        try {
            uid = realUid(Files.readAllLines(Path.of("/proc/self/status")));
        } catch (IOException e) {
            return 0;
        }
        long n = 0;
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                try {
                    if ((Integer) Files.getAttribute(p, "unix:uid") != uid) {
                        continue; // the owner is the effective uid: only the user's own are read (cheap)
                    }
                    List<String> status = Files.readAllLines(p.resolve("status"));
                    if (realUid(status) == uid) {
                        for (String line : status) {
                            if (line.startsWith("Threads:")) {
                                n += Long.parseLong(line.substring(8).strip());
                            }
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // gone meanwhile
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return n;
    }

    private static int realUid(List<String> status) {
        for (String line : status) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.substring(4).strip().split("\\s+")[0]);
            }
        }
        return -1;
    }

    /** This process's hard RLIMIT_NPROC, or 0 when unlimited or unknown. */
    static long ownHardLimit() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max processes")) {
                    String[] f = line.substring("Max processes".length()).strip().split("\\s+");
                    return f[1].equals("unlimited") ? 0 : Long.parseLong(f[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return 0;
    }
}
