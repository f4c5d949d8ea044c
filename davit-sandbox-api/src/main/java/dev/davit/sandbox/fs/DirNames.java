package dev.davit.sandbox.fs;

import static dev.davit.sandbox.fs.DirErrors.failed;

import dev.davit.sandbox.fs.Dir.NotUtf8;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Names in and of a {@link Dir}: the check that an entry is one name, the path errors give it, strict UTF-8, and
 * reading a directory's names ({@link Dir#names}) by this JVM or through its acting broker ({@link BrokerSys}),
 * as text (a name that is not UTF-8 refused) or as bytes.
 */
final class DirNames {
    private DirNames() {
    }

    /** {@link Dir#names(Budget)} of {@code dir}: sorted, each counted against {@code budget} (if not null). */
    static List<String> names(Dir dir, Budget budget) throws IOException {
        List<String> out = new ArrayList<>();
        if (dir.acting != null) {
            for (String n : actingNames(dir, budget == null ? null : budget::entry)) {
                out.add(n);
            }
            out.sort(null);
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir.self())) {
            for (Path p : s) {
                Path n = p.getFileName();
                String text = n.toString();
                if (!Path.of(text).equals(n)) {
                    throw new NotUtf8(join(dir.name, text));
                }
                if (budget != null) {
                    budget.entry();
                }
                out.add(text);
            }
        }
        out.sort(null);
        return out;
    }

    /** Something done per name as it is read; may refuse. */
    private interface PerName {
        void entry() throws IOException;
    }

    /** {@code dir}'s names, from the acting broker (a name that is not UTF-8 refused). */
    private static List<String> actingNames(Dir dir, PerName each) throws IOException {
        List<String> out = new ArrayList<>();
        for (byte[] b : actingRawNames(dir)) {
            String n = utf8(b, null);
            if (n == null) {
                throw new NotUtf8(join(dir.name, new String(b, StandardCharsets.UTF_8)));
            }
            if (each != null) {
                each.entry();
            }
            out.add(n);
        }
        return out;
    }

    /**
     * {@code dir}'s names as their bytes, from the acting broker; more than {@link Budget#MAX_ENTRIES} are
     * refused.
     */
    static List<byte[]> actingRawNames(Dir dir) throws IOException {
        List<byte[]> out = new ArrayList<>();
        int r;
        try {
            r = dir.sys.openat2(dir.fd, ".", Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NONBLOCK | Sys.O_CLOEXEC,
                    Sys.STRICT);
        } catch (ErrnoException e) {
            throw failed(e, dir.name);
        }
        try {
            while (true) {
                byte[] b;
                try {
                    b = dir.acting.names(r);
                } catch (ErrnoException e) {
                    throw failed(e, dir.name);
                }
                if (b.length == 0) {
                    return out;
                }
                int start = 0;
                for (int i = 0; i < b.length; i++) {
                    if (b[i] == 0) {
                        out.add(java.util.Arrays.copyOfRange(b, start, i));
                        start = i + 1;
                        if (out.size() > Budget.MAX_ENTRIES) {
                            throw new IOException("more than " + Budget.MAX_ENTRIES + " entries in " + dir.name);
                        }
                    }
                }
            }
        } finally {
            dir.sys.close(r);
        }
    }

    /** {@code b} as UTF-8, strictly; null when it is not (or, with {@code what}, a {@link NotUtf8} for it). */
    static String utf8(byte[] b, String what) throws NotUtf8 {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            if (what != null) {
                throw new NotUtf8(what);
            }
            return null;
        }
    }

    /** Refuses {@code entry} unless it is one name: not empty, {@code .} or {@code ..}, without / or NUL. */
    static void checkName(String entry) {
        if (entry.isEmpty() || entry.equals(".") || entry.equals("..") || entry.indexOf('/') >= 0
                || entry.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not one name: " + entry);
        }
    }

    /** {@code rel} below {@code top}, as errors name it. */
    static String join(String top, String rel) {
        return rel.isEmpty() ? top : top.endsWith("/") ? top + rel : top + "/" + rel;
    }
}
