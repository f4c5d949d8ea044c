package dev.davit.sandbox;

import java.time.Instant;

/**
 * One long-lived sandbox as recorded in {@code <stateDir>/<id>/state.json}.
 *
 * @param id         the sandbox's id ({@code sbx-} and 12 hex digits)
 * @param status     its status; {@link SandboxStatus#FAILED} when recorded as running but its processes are gone
 * @param spec       what it was created with
 * @param createdAt  when it was created
 * @param startedAt  when it was last started, or null
 * @param bwrapPid   the host pid of its bwrap process, 0 when not running
 * @param bwrapStart that process's start time (field 22 of /proc/PID/stat), to detect pid reuse
 * @param initPid    the host pid of its pid 1 (the process exec enters with nsenter), 0 when not running
 * @param initStart  that process's start time
 * @param qemuPid    the host pid of its QEMU (vm backend), 0 when not running
 * @param qemuStart  that process's start time
 */
public record Sandbox(String id, SandboxStatus status, CreateSpec spec, Instant createdAt, Instant startedAt,
                      long bwrapPid, long bwrapStart, long initPid, long initStart, long qemuPid, long qemuStart) {
    /**
     * A container sandbox's state (no QEMU).
     *
     * @param id         the sandbox's id ({@code sbx-} and 12 hex digits)
     * @param status     its status
     * @param spec       what it was created with
     * @param createdAt  when it was created
     * @param startedAt  when it was last started, or null
     * @param bwrapPid   the host pid of its bwrap process, 0 when not running
     * @param bwrapStart that process's start time
     * @param initPid    the host pid of its pid 1, 0 when not running
     * @param initStart  that process's start time
     */
    public Sandbox(String id, SandboxStatus status, CreateSpec spec, Instant createdAt, Instant startedAt,
                   long bwrapPid, long bwrapStart, long initPid, long initStart) {
        this(id, status, spec, createdAt, startedAt, bwrapPid, bwrapStart, initPid, initStart, 0, 0);
    }

    /**
     * The sandbox's backend, from its spec.
     *
     * @return {@code container} or {@code vm}
     */
    public String backend() {
        return spec.backend();
    }

    /**
     * Whether its ttl has passed at {@code now}.
     *
     * @param now the time to check at, usually {@link Instant#now()}
     * @return true when it has a ttl and {@code now} is at or past its creation plus the ttl
     */
    public boolean expired(Instant now) {
        return spec.ttl() != null && !now.isBefore(createdAt.plus(spec.ttl()));
    }

    /**
     * This sandbox with another spec (e.g. a new ttl).
     *
     * @param c the spec
     * @return a copy of this sandbox with {@code c} as its spec
     */
    public Sandbox withSpec(CreateSpec c) {
        return new Sandbox(id, status, c, createdAt, startedAt, bwrapPid, bwrapStart, initPid, initStart, qemuPid,
                qemuStart);
    }

    /**
     * This sandbox with another status.
     *
     * @param s the status
     * @return a copy of this sandbox with status {@code s}
     */
    public Sandbox withStatus(SandboxStatus s) {
        return new Sandbox(id, s, spec, createdAt, startedAt, bwrapPid, bwrapStart, initPid, initStart, qemuPid,
                qemuStart);
    }
}
