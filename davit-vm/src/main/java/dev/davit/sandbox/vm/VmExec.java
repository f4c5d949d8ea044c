package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.agent.AgentErrors;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.agent.LinkFiles;
import dev.davit.sandbox.backend.CappedSink;
import dev.davit.sandbox.backend.FileLocks;
import dev.davit.sandbox.backend.OutputLimit;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * A running microVM's commands through davit-agent (docs/reference/AGENT.md), the one protocol every backend
 * speaks: on one of the VM's ports {@code davit.exec.N} ({@link Machine#EXEC_PORTS}), reached through QEMU's socket
 * for it. A port serves one host at a time (a lock file per port in the state directory, across processes): commands
 * at once take ports of their own, more queue. The output streams as it comes, stdin is fed, a timeout kills the
 * command and what it started.
 */
final class VmExec {
    private VmExec() {
    }

    /**
     * The VM a command runs in: its sandbox's id, state directory, whether its QEMU lives, its kill, and whether its
     * guest answers (its init, PID 1, answers a SYNC within seconds: the guest is not hung, {@link GuestInit}).
     */
    record Vm(String id, Path dir, BooleanSupplier alive, Runnable kill, BooleanSupplier answers) {
    }

    /**
     * Runs {@code argv} in running VM {@code vm} with exactly {@code env}.
     *
     * @param maxOutput the bytes the command may write, both streams together (0: no limit): past it, it is killed
     * @param capture what of each stream is kept for the result, and the tees that get all of it as it comes
     * @param stdin   fed to the command whole, then closed (null: /dev/null)
     */
    static QemuBackend.Outcome exec(Vm vm, List<String> argv, Map<String, String> env, String workdir,
                                    Duration timeout, long maxOutput, QemuBackend.Capture capture,
                                    InputStream stdin) {
        CappedSink out = new CappedSink(capture.bytes());
        CappedSink err = new CappedSink(capture.bytes());
        OutputLimit[] limit = new OutputLimit[1];
        AgentLink.Outcome o = withLink(vm, "the command", link -> {
            AgentLink.Running r;
            try {
                r = link.start(argv, env, workdir, stdin != null);
            } catch (IllegalArgumentException e) {
                throw AgentErrors.tooLarge();
            }
            limit[0] = OutputLimit.closable(maxOutput, r::kill);
            return r.await((isErr, b, n) -> limit[0].pass(b, n, isErr ? err : out, isErr ? capture.stderrTee()
                    : capture.stdoutTee()), stdin, timeout);
        });
        // the command's own exit codes, as a shell gives them, with the agent's line
        int rc = AgentErrors.exitCode(vm.id(), o, workdir, line -> limit[0].pass(line, line.length, err,
                capture.stderrTee()));
        rc = limit[0].settle(rc, o.timedOut());
        boolean limited = limit[0].exceeded();
        boolean timedOut = o.timedOut() && !limited;
        return new QemuBackend.Outcome(rc, timedOut, out.captured(), err.captured(),
                out.truncated() || err.truncated() || limited, limited);
    }

    /** The files of running VM {@code vm} through davit-agent's file requests, each on a port of its own. */
    static dev.davit.sandbox.backend.GuestFiles files(Vm vm) {
        return LinkFiles.of(links(vm, "the file request"), vm.id());
    }

    /** Links to the agent of running VM {@code vm}, each call's on a port of its own, for {@code what}. */
    static LinkFiles.Links links(Vm vm, String what) {
        return new LinkFiles.Links() {
            @Override
            public <T> T withLink(LinkFiles.Use<T> use) {
                return VmExec.withLink(vm, what, use);
            }
        };
    }

    /**
     * Runs {@code use} on a link of its own to the agent of VM {@code vm} (a free port, else the first that frees),
     * closed after it; a link that broke or failed while {@code what} ran is worded here.
     */
    static <T> T withLink(Vm vm, String what, LinkFiles.Use<T> use) {
        Path dir = vm.dir();
        List<Path> locks = new ArrayList<>();
        for (int n = 0; n < Machine.EXEC_PORTS; n++) {
            locks.add(dir.resolve("exec" + n + ".lock"));
        }
        try {
            return FileLocks.holdingAny(locks, n -> {
                try (AgentLink link = connect(vm, n)) {
                    return use.apply(link);
                } catch (AgentLink.Broken e) {
                    throw broke(vm, e, what);
                } catch (AgentLink.InputFailed e) {
                    throw AgentErrors.inputFailed(vm.id(), what, e);
                } catch (IOException e) {
                    if (Thread.interrupted()) {
                        Thread.currentThread().interrupt();
                        throw new DavitException(Kind.CANCELLED, "interrupted while " + what + " ran in sandbox "
                                + vm.id());
                    }
                    throw stopped(vm).orElse(new DavitException(Kind.INTERNAL, "cannot reach the agent of sandbox "
                            + vm.id() + ": " + e.getMessage()));
                }
            });
        } catch (java.io.InterruptedIOException e) {
            throw new DavitException(Kind.CANCELLED, "interrupted while waiting for a command port of sandbox "
                    + vm.id());
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock a command port of sandbox " + vm.id() + " in " + dir
                    + ": " + e.getMessage());
        }
    }

    /** The error for a link that broke while {@code what} (the command, a file request) ran. */
    private static DavitException broke(Vm s, AgentLink.Broken e, String what) {
        if (e.silent() && s.alive().getAsBoolean()) {
            if (s.answers().getAsBoolean()) {
                // the guest lives: its code stopped davit-agent (or slowed it past its wait), which hurts only it
                return new DavitException(Kind.INTERNAL, "davit-agent in sandbox " + s.id() + " did not answer ("
                        + e.getMessage() + "), though its guest does: code in the sandbox may have stopped it; "
                        + what + "'s end is unknown (restart the sandbox if this keeps failing)");
            }
            // a guest that answers nothing, not even a SYNC of its PID 1, is hung: the VM goes
            s.kill().run();
            return new DavitException(Kind.INTERNAL, "davit-agent in sandbox " + s.id() + " did not answer ("
                    + e.getMessage() + "), nor did its guest; its microVM was killed as hung (start it again)");
        }
        return stopped(s).orElse(new DavitException(Kind.INTERNAL, "the agent of sandbox " + s.id()
                + " failed while " + what + " ran (" + e.getMessage() + "); " + what + " was ended with its"
                + " connection"));
    }

    /**
     * A link to the agent on port {@code davit.exec.N}: QEMU's socket for it, its peer checked to be the VM's QEMU
     * before a byte is sent ({@link Peers}), then the port's SYNC. A SYNC that gets no answer is sent once more on a
     * new connection: a previous host that left inside a frame leaves the agent reading the rest of it, which the
     * first SYNC then fills; the agent's read of this host's leaving ends that frame.
     */
    private static AgentLink connect(Vm s, int port) {
        try {
            return synced(s, port);
        } catch (AgentLink.Broken e) {
            if (!e.silent() || !s.alive().getAsBoolean()) {
                throw refused(s, port, e);
            }
        }
        try {
            return synced(s, port);
        } catch (AgentLink.Broken e) {
            throw refused(s, port, e);
        }
    }

    private static DavitException refused(Vm s, int port, AgentLink.Broken e) {
        return stopped(s).orElse(new DavitException(Kind.INTERNAL, "the agent of sandbox " + s.id()
                + " did not answer on its port davit.exec." + port + " (" + e.getMessage() + "): code in the"
                + " sandbox may have ended it (it is started again within a second); run the command again"));
    }

    private static AgentLink synced(Vm s, int port) throws AgentLink.Broken {
        Path socket = s.dir().resolve(Machine.execSocket(port));
        SocketChannel ch = null;
        try {
            ch = AgentLink.open(socket);
            try {
                Peers.check(ch, socket);
            } catch (IOException e) {
                ch.close();
                s.kill().run();
                throw new DavitException(Kind.INTERNAL, e.getMessage() + "; the microVM of sandbox " + s.id()
                        + " was killed");
            }
            return AgentLink.synced(ch);
        } catch (AgentLink.Broken e) {
            throw e;
        } catch (IOException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // closed already
                }
            }
            throw stopped(s).orElse(new DavitException(Kind.INTERNAL, "cannot connect to the agent of sandbox "
                    + s.id() + " (" + socket + ": " + e.getMessage() + "); stop and start it"));
        }
    }

    /**
     * The error for a VM that stopped while its command ran, if it did: a link that broke with its QEMU going (a
     * crash, the OOM killer) is seen closed a moment before the process is gone, so QEMU gets a second to go.
     */
    private static java.util.Optional<DavitException> stopped(Vm s) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
        while (s.alive().getAsBoolean() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (s.alive().getAsBoolean()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new DavitException(Kind.INTERNAL, "the microVM of sandbox " + s.id()
                + " stopped while the command ran; " + Machine.diagnosis(s.dir())));
    }
}
