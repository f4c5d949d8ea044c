package dev.davit.sandbox.fs;

import java.io.IOException;

/** A system call failed with {@link #errno()}. */
public final class ErrnoException extends IOException {
    private final int errno;

    public ErrnoException(String what, int errno) {
        super(what + " failed: " + Errno.describe(errno));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
