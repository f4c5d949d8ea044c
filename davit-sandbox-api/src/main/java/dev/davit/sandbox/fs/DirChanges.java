package dev.davit.sandbox.fs;

import static dev.davit.sandbox.fs.DirErrors.failed;
import static dev.davit.sandbox.fs.DirNames.checkName;
import static dev.davit.sandbox.fs.DirNames.join;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * How a {@link Dir} makes a change: on what a descriptor names (never a link, which chmod or a new time would
 * follow) through its acting broker ({@link BrokerSys}) or by this JVM on the descriptor's {@code /proc/self/fd}
 * path; a call of the acting broker with its error as the JDK's would be; and a new file the acting broker made,
 * opened for writing by this JVM.
 */
final class DirChanges {
    private DirChanges() {
    }

    interface PathAction {
        void run(Path descriptor) throws IOException;
    }

    interface FdAction {
        void run(int descriptor) throws IOException;
    }

    /**
     * Runs {@code action} on an O_PATH descriptor of {@code rel} (not a link) of {@code dir} through the acting
     * broker, else {@code onPath} on its {@code /proc/self/fd} path.
     */
    static void withDescriptor(Dir dir, String rel, FdAction action, PathAction onPath) throws IOException {
        int f = dir.open(rel, Sys.O_PATH | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, Sys.STRICT);
        try {
            if (dir.sys.stat(f).isSymbolicLink()) {
                throw new ErrnoException(join(dir.name, rel) + " is a symbolic link; changing it", Errno.ELOOP);
            }
            if (dir.acting != null) {
                try {
                    action.run(f);
                } catch (ErrnoException e) {
                    throw failed(e, join(dir.name, rel));
                }
            } else {
                onPath.run(dir.sys.fdPath(f));
            }
        } finally {
            dir.sys.close(f);
        }
    }

    interface Call {
        void run() throws ErrnoException;
    }

    /** {@code call} of the acting broker on {@code entry} of {@code dir}, its error as the JDK's would be. */
    static void act(Dir dir, Call call, String entry) throws IOException {
        try {
            call.run();
        } catch (ErrnoException e) {
            throw failed(e, join(dir.name, entry));
        }
    }

    /** {@link Dir#create} through the acting broker: new regular file {@code entry} of {@code dir}, for writing. */
    static FileChannel actingCreate(Dir dir, String entry) throws IOException {
        checkName(entry);
        int f;
        try {
            f = dir.acting.create(dir.fd, entry, Sys.O_WRONLY | Sys.O_CREAT | Sys.O_EXCL | Sys.O_NOFOLLOW
                    | Sys.O_CLOEXEC | Sys.O_NONBLOCK | Sys.O_NOCTTY, 0600);
        } catch (ErrnoException e) {
            throw failed(e, join(dir.name, entry));
        }
        try {
            // the broker made it, as the user (its namespace's root): this JVM's user opens it for writing,
            // through the broker's descriptor, while the broker still runs (so its pid is still its own)
            FileChannel c = FileChannel.open(dir.sys.fdPath(f), StandardOpenOption.WRITE);
            if (!dir.acting.alive()) {
                c.close();
                throw new ErrnoException(join(dir.name, entry) + ": davit-exec files ended while it was opened",
                        Errno.EIO);
            }
            return c;
        } finally {
            dir.sys.close(f);
        }
    }
}
