package dev.davit.sandbox.backend;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One stream that writes to several (nulls left out); one that fails is dropped, the others go on: a capture and the
 * tees a caller gave (best effort, as the pumps treat them), or the places a workspace keeps an exec's output.
 */
public final class Tees extends OutputStream {
    private final List<OutputStream> outs;

    private Tees(List<OutputStream> outs) {
        this.outs = outs;
    }

    /**
     * One stream over {@code outs}.
     *
     * @param outs the streams; nulls are left out
     * @return the one stream when only one is left, else a stream that writes to each (none: writes go nowhere)
     */
    public static OutputStream of(OutputStream... outs) {
        List<OutputStream> l = new ArrayList<>(java.util.Arrays.stream(outs).filter(Objects::nonNull).toList());
        return l.size() == 1 ? l.get(0) : new Tees(l);
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int n) {
        outs.removeIf(o -> {
            try {
                o.write(b, off, n);
                return false;
            } catch (IOException e) {
                return true;
            }
        });
    }

    @Override
    public synchronized void flush() {
        outs.removeIf(o -> {
            try {
                o.flush();
                return false;
            } catch (IOException e) {
                return true;
            }
        });
    }
}
