package dev.davit.sandbox.agent;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Detached processes (services, background commands, shells) through davit-agent's SPAWN and PROC requests
 * (docs/reference/AGENT.md, "Detached processes"), on the links a backend gives: the agent starts each below a holder
 * that outlives it and records it in a directory of the sandbox; every later call, from this davit process or
 * another, asks the agent about that record. No shell runs for any of it.
 *
 * <p>What the agent answers is untrusted, as everything it sends: a status is one of three values, a pid a number;
 * each call has its timeout.
 */
public final class LinkProcesses {
    /** Signal numbers of {@code Spawned.SIGNALS} (Linux's, on every architecture davit runs on). */
    private static final Map<String, Integer> NUMBERS = Map.of("HUP", 1, "INT", 2, "QUIT", 3, "KILL", 9, "USR1", 10,
            "USR2", 12, "TERM", 15);

    private final LinkFiles calls;
    private final String sandbox;

    /**
     * @param links   where links to the sandbox's agent come from
     * @param sandbox the sandbox's id, for errors
     * @param timeout how long one call may take (a stop's grace is added to it)
     */
    public LinkProcesses(LinkFiles.Links links, String sandbox, Duration timeout) {
        this.calls = new LinkFiles(links, sandbox, timeout, null, null);
        this.sandbox = sandbox;
    }

    /**
     * Starts {@code argv} detached, recorded in {@code dir}.
     *
     * @param dir      the record's absolute directory in the sandbox (made afresh)
     * @param terminal its terminal's device ({@code /dev/hvcN}), or null for output into the record
     * @param argv     the command and its arguments
     * @param env      its whole environment
     * @param workdir  its working directory
     * @return its pid in the sandbox; 0 when it could not be executed (its record says why, and its exit 127 or 126)
     * @throws DavitException USAGE for a working directory that is not there or a command too large to pass
     */
    public long spawn(String dir, String terminal, List<String> argv, Map<String, String> env, String workdir) {
        try {
            AgentWire.spawn(dir, terminal, argv, env, workdir);
        } catch (IllegalArgumentException e) {
            throw AgentErrors.tooLarge();
        }
        return calls.call("start " + argv.getFirst(), link -> {
            AgentLink.Outcome o = link.control(AgentWire.SPAWN, AgentWire.spawn(dir, terminal, argv, env, workdir))
                    .await(LinkProcesses::none, null, calls.timeout());
            if (o.error() == AgentWire.E_WORKDIR) {
                throw new DavitException(Kind.USAGE, "the working directory " + workdir + " does not exist in the"
                        + " sandbox");
            }
            if (o.error() == 0 && (o.value() < 0 || o.value() > Integer.MAX_VALUE)) {
                throw new AgentLink.Broken("the agent answered a spawn with pid " + o.value());
            }
            return o;
        }).value();
    }

    /**
     * Whether the process recorded in {@code dir} runs.
     *
     * @param dir the record's directory
     * @return {@link AgentWire#RUNNING}, {@link AgentWire#GONE} (never seen, or started before the sandbox's last
     *         boot, or killed with its holder), or {@link AgentWire#ENDED} plus its exit code
     */
    public long status(String dir) {
        long v = proc("ask about the process of " + dir, AgentWire.PROC_STATUS, 0, List.of(dir), Duration.ZERO);
        if (v != AgentWire.RUNNING && v != AgentWire.GONE && (v < AgentWire.ENDED || v > AgentWire.ENDED + 255)) {
            throw new DavitException(Kind.INTERNAL, "the agent of sandbox " + sandbox + " answered a status of "
                    + v + "; restart the sandbox if this keeps failing");
        }
        return v;
    }

    /**
     * Signals the process recorded in {@code dir}: its group and session, or its terminal's foreground group.
     *
     * @param dir        the record's directory
     * @param signal     one of {@code Spawned.SIGNALS}
     * @param foreground whether its terminal's foreground process group gets it instead
     * @return false when nothing was left to signal
     */
    public boolean signal(String dir, String signal, boolean foreground) {
        Integer n = NUMBERS.get(signal);
        if (n == null) {
            throw new DavitException(Kind.USAGE, "unknown signal '" + signal + "'; use one of "
                    + String.join(", ", NUMBERS.keySet()));
        }
        return proc("signal the process of " + dir, AgentWire.PROC_SIGNAL, n | (foreground ? AgentWire.FOREGROUND
                : 0), List.of(dir), Duration.ZERO) == 1;
    }

    /**
     * Stops the process recorded in {@code dir}: TERM (and HUP with a terminal), KILL once {@code grace} passed;
     * returns once its exit is recorded (or 5 s after the KILL).
     *
     * @param dir   the record's directory
     * @param grace how long it has after TERM, in whole seconds (at least 1, at most an hour)
     * @return its status then ({@link #status})
     */
    public long stop(String dir, Duration grace) {
        long seconds = Math.clamp((grace.toMillis() + 999) / 1000, 1, 3600);
        return proc("stop the process of " + dir, AgentWire.PROC_STOP, seconds, List.of(dir),
                Duration.ofSeconds(seconds));
    }

    /**
     * The virtio consoles some process of the sandbox holds open.
     *
     * @return a mask: bit N for {@code /dev/hvcN}
     */
    public long consoles() {
        return proc("list the consoles in use", AgentWire.PROC_CONSOLES, 0, List.of(), Duration.ZERO);
    }

    /**
     * A terminal of the process recorded in {@code dir} that it has of its own ({@link AgentWire#PTY}): its output read
     * and its input typed through the agent.
     *
     * @param dir the record's directory
     * @return the terminal
     */
    public dev.davit.sandbox.backend.GuestTerminal terminal(String dir) {
        return new dev.davit.sandbox.backend.GuestTerminal() {
            @Override
            public Chunk output(long pos, int max) {
                java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
                int most = Math.min(max, AgentWire.MAX_OUTPUT_READ);
                long start;
                try {
                    start = calls.call("read the terminal of " + dir, link -> {
                        b.reset();
                        AgentLink.Outcome o = link.control(AgentWire.PROC, AgentWire.file(AgentWire.PROC_OUTPUT, pos,
                                List.of(dir))).await((err, d, n) -> b.write(d, 0, Math.min(n, most - b.size())), null,
                                calls.timeout());
                        if (o.error() == 0 && (o.value() < pos && b.size() > 0 || o.value() < 0
                                || o.value() > Long.MAX_VALUE / 2)) {
                            throw new AgentLink.Broken("the agent answered a read of the terminal from " + pos
                                    + " with output from " + o.value());
                        }
                        return o;
                    }).value();
                } catch (DavitException e) {
                    if (e.kind() == Kind.NOT_FOUND) { // its record is gone (a pod made again): no output
                        return new Chunk(pos, new byte[0]);
                    }
                    throw e;
                }
                return new Chunk(b.size() == 0 ? pos : start, b.toByteArray());
            }

            @Override
            public long input(byte[] data, Duration wait) {
                long seconds = Math.clamp((wait.toMillis() + 999) / 1000, 1, 60);
                long took = 0;
                for (int at = 0; at < data.length; at += AgentWire.MAX_INPUT) {
                    byte[] part = java.util.Arrays.copyOfRange(data, at, Math.min(data.length, at
                            + AgentWire.MAX_INPUT));
                    AgentLink.Outcome o;
                    try {
                        o = calls.call("type into the terminal of " + dir, link -> link.control(AgentWire.PROC,
                                AgentWire.fileBytes(AgentWire.PROC_INPUT, seconds, List.of(dir.getBytes(
                                        java.nio.charset.StandardCharsets.UTF_8), part)))
                                .await(LinkProcesses::none, null, calls.timeout().plus(Duration.ofSeconds(seconds))));
                    } catch (DavitException e) {
                        if (e.kind() == Kind.NOT_FOUND) {
                            return took == 0 ? -1 : took;
                        }
                        throw e;
                    }
                    took += Math.clamp(o.value(), 0, part.length);
                    if (o.value() < part.length) {
                        break;
                    }
                }
                return took;
            }
        };
    }

    /** Kills every process of the sandbox but the agent, what it runs under and pid 1. */
    public void killAll() {
        proc("kill every process", AgentWire.PROC_KILL_ALL, 0, List.of(), Duration.ZERO);
    }

    private long proc(String what, int op, long n, List<String> paths, Duration extra) {
        return calls.call(what, link -> link.control(AgentWire.PROC, AgentWire.file(op, n, paths))
                .await(LinkProcesses::none, null, calls.timeout().plus(extra))).value();
    }

    /** A process request has no DATA (the link takes one as the agent's breach before it gets here). */
    private static void none(boolean stderr, byte[] b, int n) {
    }
}
