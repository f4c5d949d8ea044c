package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.workspace.WorkspaceFiles.FileContent;
import dev.davit.sandbox.workspace.WorkspaceFiles.FileInfo;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A workspace's files: listed, read (whole, in pages, redacted in a workspace with secrets) and written through its
 * {@link WorkspaceArea}, or read offline from a stopped workspace's disk ({@link DiskReader}). Behind
 * {@link WorkspaceFiles}, whose {@code list}, {@code read} and {@code write} document these.
 */
class FileAccess extends WorkspaceState {
    FileAccess(WorkspaceState state) {
        super(state);
    }

    List<FileInfo> listFiles(String id, String path, boolean recursive) {
        return shown(id, (w, r) -> {
            try (WorkspaceArea.View v = area(w).view(); Dir ws = v.open()) {
                return redacted(listIn(ws, path, recursive, id), r);
            } catch (IOException e) {
                throw ContainerArea.fileError(e, path, "list");
            }
        });
    }

    /** {@code files} with every secret value in a path or link target redacted. */
    private static List<FileInfo> redacted(List<FileInfo> files, Redactor r) {
        return r.isEmpty() ? files : files.stream().map(f -> new FileInfo(r.redact(f.path()), f.type(), f.size(),
                f.mode(), r.redact(f.target()))).toList();
    }

    /**
     * {@code c} with every secret value in its bytes redacted, a value cut short at the end (by {@code maxBytes})
     * masked too ({@link Redactor#redact(byte[])}); its size stays the file's.
     */
    private static FileContent redacted(FileContent c, Redactor r) {
        byte[] b = r.redact(c.bytes()); // read from the start (a page from an offset: readRedacted)
        return b == c.bytes() || java.util.Arrays.equals(b, c.bytes()) ? c
                : new FileContent(b, c.size(), c.truncated(), true, c.offset(), c.end());
    }

    /** {@link #listFiles} in tree {@code ws} of workspace {@code id}. */
    static List<FileInfo> listIn(Dir ws, String path, boolean recursive, String id) throws IOException {
        String prefix = WorkspacePath.normalise(path);
        Budget budget = Budget.of("listing /workspace");
        if (!prefix.isEmpty()) {
            dev.davit.sandbox.fs.Stat st = ws.stat(prefix);
            if (st == null) {
                throw new DavitException(Kind.NOT_FOUND, "no " + prefix + " in workspace " + id);
            }
            if (st.isSymbolicLink()) {
                throw new DavitException(Kind.USAGE, "'" + path + "' is a symbolic link; give the path it names"
                        + " (inside /workspace)");
            }
            if (!st.isDirectory()) {
                int slash = prefix.lastIndexOf('/');
                try (Dir parent = ws.dir(slash < 0 ? "" : prefix.substring(0, slash))) {
                    Tree.Entry e = Tree.entry(parent, prefix.substring(slash + 1), prefix);
                    if (e == null) {
                        throw new DavitException(Kind.NOT_FOUND, "no " + prefix + " in workspace " + id);
                    }
                    return List.of(info(e));
                }
            }
        }
        List<FileInfo> out = new ArrayList<>();
        try (Dir dir = ws.dir(prefix)) {
            if (recursive) {
                for (Tree.Entry e : Tree.walk(dir, budget).values()) {
                    out.add(info(new Tree.Entry(join(prefix, e.path()), e.type(), e.size(), e.mode(),
                            e.target())));
                }
            } else {
                for (String n : dir.names(budget)) {
                    Tree.Entry e = Tree.entry(dir, n, join(prefix, n));
                    if (e != null) {
                        out.add(info(e));
                    }
                }
            }
        }
        return out;
    }

    List<FileInfo> diskList(String id, String path, boolean recursive) {
        return shown(id, (w, r) -> locked(id, wid -> redacted(disk(wid).list(path, recursive), r)));
    }

    FileContent diskRead(String id, String path, long maxBytes) {
        return shown(id, (w, r) -> locked(id, wid -> redacted(disk(wid).read(path, maxBytes), r)));
    }

    FileContent readFile(String id, String path, long offset, long maxBytes) {
        if (offset < 0 || maxBytes < 0) {
            throw new DavitException(Kind.USAGE, Message.of(Input.READ_FILE, " takes an offset and a maxBytes of 0"
                    + " or more, not " + offset + " and " + maxBytes));
        }
        return shown(id, (w, r) -> r.isEmpty() ? area(w).read(path, offset, maxBytes)
                : readRedacted(area(w), path, offset, maxBytes, r));
    }

    /**
     * {@link #readFile(String, String, long, long)} in a workspace with secrets: the page is read with up to
     * {@link Redactor#maxLength} - 1 bytes more on each side and redacted in their context
     * ({@link Redactor#redactPage}), so that a value the page's start or end cuts is masked however little of it the
     * page holds: pages of a few bytes each, put together, never show a value (the caller picks the offsets).
     */
    private static FileContent readRedacted(WorkspaceArea area, String path, long offset, long maxBytes, Redactor r) {
        long margin = r.maxLength() - 1;
        maxBytes = Math.min(maxBytes, Long.MAX_VALUE / 4); // the sums below stay longs (a file holds far fewer)
        long from = Math.max(0, offset - margin);
        long before = offset - from;
        long ask = maxBytes == 0 ? 0 : maxBytes + before + margin;
        if (maxBytes > 0 && offset + maxBytes <= ContainerArea.MAX_READ) {
            ask = Math.min(ask, ContainerArea.MAX_READ - from); // a microVM's area reads within the first 64 MiB
        }
        FileContent c = area.read(path, from, ask);
        byte[] w = c.bytes();
        int pf = (int) Math.min(before, w.length);
        int pt = (int) (maxBytes == 0 ? w.length : Math.min(w.length, before + maxBytes));
        byte[] page = r.redactPage(w, pf, pt, c.truncated());
        boolean redacted = !java.util.Arrays.equals(page, 0, page.length, w, pf, pt);
        return new FileContent(page, c.size(), c.truncated() || pt < w.length, redacted, offset,
                offset + (pt - pf));
    }

    long writeFile(String id, String path, InputStream data) {
        return area(get(id)).write(path, data, -1);
    }

    private static String join(String prefix, String p) {
        return prefix.isEmpty() ? p : prefix + "/" + p;
    }

    private static FileInfo info(Tree.Entry e) {
        return new FileInfo(e.path(), e.type(), e.size(), e.mode(), e.target());
    }
}
