package dev.davit.sandbox.backend;

import java.time.Duration;

/**
 * The terminal of a detached process whose terminal is in its sandbox, not on the host: a pod's shell, whose
 * pseudo-terminal the process's holder keeps (docs/reference/AGENT.md, "Detached processes"). Its output is read by
 * position in all the terminal showed, its input typed through the sandbox's agent; nothing of it is on the host.
 */
public interface GuestTerminal {
    /**
     * Bytes the terminal showed.
     *
     * @param start the position of the first in all the terminal showed (later than asked when the older output was
     *              dropped: the sandbox keeps its newest 4 to 8 MiB)
     * @param bytes the bytes, none when nothing new came
     */
    record Chunk(long start, byte[] bytes) {
    }

    /**
     * What the terminal showed from position {@code pos} on, at most {@code max} bytes.
     *
     * @param pos where to start: 0, or where the last read ended
     * @param max the most bytes to take
     * @return the bytes and where they start; no bytes when nothing came after {@code pos}, or the terminal and its
     *         output are gone
     */
    Chunk output(long pos, int max);

    /**
     * Types {@code data} into the terminal.
     *
     * @param data the bytes
     * @param wait how long the terminal may take to take them
     * @return how many it took within {@code wait}; -1 when the terminal has ended
     */
    long input(byte[] data, Duration wait);
}
