package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.sandbox.backend.OfflineDisk;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * /workspace of a stopped microVM, read from its disk ({@link OfflineDisk}: debugfs on a raw copy), never mounted.
 * Everything debugfs reports was made by the guest, hence hostile: entries are addressed by inode number only (no
 * name from the disk is ever passed back to debugfs, nor becomes a host path); a name must be valid UTF-8, not empty,
 * {@code .} or {@code ..}, and hold no {@code /} or NUL, else the entry is left out (export names it in
 * {@code skipped}); sizes are counted against a {@link Budget} before anything is copied; a directory met twice (a
 * loop) is not entered again; links are read as strings and never followed; devices, fifos and sockets are listed
 * as {@code other} and never copied.
 */
final class Ext4Image {
    private static final long ROOT_INODE = 2;
    private static final String WORKSPACE = Workspaces.MOUNT.substring(1);
    /** What one listing run may print (names of a level of directories). */
    private static final long MAX_LISTING = 256L << 20;
    /** The longest link target read (PATH_MAX). */
    private static final int MAX_TARGET = 4096;
    /** A fast link keeps its target in the inode (fewer than 60 bytes); {@code stat} prints it. */
    private static final String FAST_LINK = "Fast link dest: \"";
    /** One entry of {@code ls -p}: {@code /INODE/MODE/UID/GID/NAME/SIZE/} (a directory's SIZE is empty). */
    private static final Pattern ENTRY = Pattern.compile("/(\\d{1,19})/([0-7]{1,7})/(\\d{1,10})/(\\d{1,10})/(.*)/(\\d{0,19})/",
            Pattern.DOTALL);
    private static final Pattern ENTRY_START = Pattern.compile("/\\d{1,19}/[0-7]{1,7}/\\d{1,10}/\\d{1,10}/.*",
            Pattern.DOTALL);

    private final OfflineDisk disk;

    Ext4Image(OfflineDisk disk) {
        this.disk = disk;
    }

    /**
     * One entry of a directory on the disk.
     *
     * @param name  its name; null when the disk's name is not one a host tree may hold ({@link #rawName})
     * @param size  the size the disk claims (hostile: never trusted for an allocation)
     */
    record Node(long inode, int mode, long size, String name, String rawName) {
        String type() {
            return switch (mode & Stat.S_IFMT) {
                case 0040000 -> "dir";
                case 0100000 -> "file";
                case 0120000 -> "symlink";
                default -> "other";
            };
        }
    }

    /** /workspace's own node (a directory), found in the disk's root without following a link. */
    Node workspace() {
        for (Node n : list(List.of(ROOT_INODE)).get(ROOT_INODE)) {
            if (WORKSPACE.equals(n.name())) {
                if (!n.type().equals("dir")) {
                    throw new DavitException(Kind.USAGE, Message.of("/workspace is not a directory on the workspace's"
                            + " disk (a " + n.type() + "); reset the workspace (", Action.RESET_WORKSPACE.fix(),
                            ") or create it again"));
                }
                return n;
            }
        }
        throw new DavitException(Kind.USAGE, Message.of("the workspace's disk has no /workspace; reset the"
                + " workspace (", Action.RESET_WORKSPACE.fix(), ") or create it again"));
    }

    /** The entries of each directory of {@code dirs} (inodes), without {@code .} and {@code ..}; one debugfs run. */
    Map<Long, List<Node>> list(List<Long> dirs) {
        List<String> requests = new ArrayList<>();
        for (long d : dirs) {
            requests.add("ls -p <" + d + ">");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (disk.debugfs(requests, out, MAX_LISTING) > MAX_LISTING) {
            throw new DavitException(Kind.USAGE, "the listing of /workspace on the disk passes "
                    + (MAX_LISTING >> 20) + " MiB; list a part of it");
        }
        Map<Long, List<Node>> result = new LinkedHashMap<>();
        dirs.forEach(d -> result.put(d, new ArrayList<>()));
        // bytes as chars one for one (ISO-8859-1), so a name's bytes survive until it is decoded
        String text = out.toString(StandardCharsets.ISO_8859_1);
        int k = -1;
        StringBuilder pending = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            if (k + 1 < requests.size() && line.equals("debugfs: " + requests.get(k + 1))) {
                k++;
                pending.setLength(0);
                continue;
            }
            if (k < 0) {
                continue;
            }
            if (pending.isEmpty() && line.isEmpty()) {
                continue;
            }
            if (!pending.isEmpty()) {
                pending.append('\n'); // a name that holds a newline
            }
            pending.append(line);
            if (!ENTRY_START.matcher(pending).matches()) {
                pending.setLength(0); // not an entry: a message of debugfs's
                continue;
            }
            Matcher m = ENTRY.matcher(pending);
            if (m.matches()) {
                Node n = node(m);
                if (n != null && !".".equals(n.rawName()) && !"..".equals(n.rawName())) {
                    result.get(dirs.get(k)).add(n);
                }
                pending.setLength(0);
            }
        }
        return result;
    }

    private static Node node(Matcher m) {
        try {
            long inode = Long.parseLong(m.group(1));
            int mode = Integer.parseInt(m.group(2), 8);
            long size = m.group(6).isEmpty() ? 0 : Long.parseLong(m.group(6));
            String raw = m.group(5);
            return new Node(inode, mode, size, name(raw), raw);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The name whose bytes are {@code raw} (one char per byte), or null when a host tree may not hold it. */
    private static String name(String raw) {
        if (raw.isEmpty() || raw.equals(".") || raw.equals("..") || raw.indexOf('/') >= 0 || raw.indexOf('\0') >= 0) {
            return null;
        }
        return utf8(raw);
    }

    private static String utf8(String raw) {
        return dev.davit.oci.internal.Text.utf8OrNull(raw.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** A printable form of a name that is left out (for {@code skipped}). */
    static String shown(String raw) {
        StringBuilder b = new StringBuilder();
        for (byte x : raw.getBytes(StandardCharsets.ISO_8859_1)) {
            int c = x & 0xff;
            b.append(c >= 0x20 && c < 0x7f && c != '\\' ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return b.toString();
    }

    /**
     * The targets of the links {@code links}, by inode (null: not readable as UTF-8): a fast link's from
     * {@code stat}, a slow one's dumped to a file of the caller's naming and read back through a {@link Dir}.
     */
    Map<Long, String> targets(List<Node> links) {
        Map<Long, String> out = new LinkedHashMap<>();
        if (links.isEmpty()) {
            return out;
        }
        List<String> stats = new ArrayList<>();
        for (Node n : links) {
            stats.add("stat <" + n.inode() + ">");
        }
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        disk.debugfs(stats, o, (long) links.size() * 8192 + (1 << 20));
        String text = o.toString(StandardCharsets.ISO_8859_1);
        List<Node> slow = new ArrayList<>();
        for (int i = 0; i < links.size(); i++) {
            Node n = links.get(i);
            String head = "debugfs: " + stats.get(i) + "\n";
            int at = text.indexOf(head);
            int end = i + 1 < stats.size() ? text.indexOf("debugfs: " + stats.get(i + 1) + "\n", Math.max(at, 0))
                    : text.length();
            String section = at < 0 ? "" : text.substring(at + head.length(), end < 0 ? text.length() : end);
            int f = section.indexOf(FAST_LINK);
            if (f >= 0) {
                int from = f + FAST_LINK.length();
                int len = (int) Math.min(Math.min(n.size(), MAX_TARGET), section.length() - from);
                out.put(n.inode(), target(section.substring(from, from + Math.max(0, len))));
            } else if (n.size() > 0 && n.size() <= MAX_TARGET) {
                slow.add(n);
            } else {
                out.put(n.inode(), null);
            }
        }
        if (!slow.isEmpty()) {
            List<String> dumps = new ArrayList<>();
            for (int i = 0; i < slow.size(); i++) {
                dumps.add("dump <" + slow.get(i).inode() + "> " + disk.dumpPath() + "/l" + i);
            }
            disk.debugfs(dumps, java.io.OutputStream.nullOutputStream(), 1 << 20);
            try (Dir d = Dir.open(disk.dumpDir(), "the dumped links")) {
                for (int i = 0; i < slow.size(); i++) {
                    out.put(slow.get(i).inode(), target(readSmall(d, "l" + i, MAX_TARGET)));
                    d.delete("l" + i);
                }
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read the links dumped from the disk: " + e.getMessage());
            }
        }
        return out;
    }

    private static String target(String raw) {
        return raw == null || raw.isEmpty() || raw.indexOf('\0') >= 0 ? null : utf8(raw);
    }

    /** At most {@code max} bytes of dumped file {@code name} (one char per byte), or null when it is missing. */
    private static String readSmall(Dir d, String name, int max) throws IOException {
        try (Dir.Opened f = d.openFile(name); FileChannel c = f.read()) {
            ByteBuffer b = ByteBuffer.allocate(max);
            while (b.hasRemaining() && c.read(b) >= 0) {
                // up to max
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.ISO_8859_1);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Every entry below directory {@code top} (at workspace path {@code prefix}), by path order, links with their
     * targets; names a host may not hold are left out and added to {@code skipped}. One debugfs run per level.
     */
    List<Found> walk(Node top, String prefix, Budget budget, List<String> skipped) {
        List<Found> out = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        seen.add(top.inode());
        List<Found> level = List.of(new Found(prefix, top));
        int depth = 0;
        while (!level.isEmpty()) {
            budget.depth(++depth);
            Map<Long, List<Node>> listed = list(level.stream().map(f -> f.node().inode()).distinct().toList());
            List<Found> next = new ArrayList<>();
            for (Found parent : level) {
                for (Node n : listed.get(parent.node().inode())) {
                    if (n.name() == null) {
                        skipped.add(join(parent.path(), shown(n.rawName())));
                        continue;
                    }
                    budget.entry();
                    Found f = new Found(join(parent.path(), n.name()), n);
                    budget.path(f.path());
                    out.add(f);
                    if (n.type().equals("dir") && seen.add(n.inode())) {
                        next.add(f);
                    }
                }
            }
            level = next;
        }
        withTargets(out);
        out.sort(java.util.Comparator.comparing(Found::path));
        return out;
    }

    /** Fills in the targets of the links of {@code found}. */
    void withTargets(List<Found> found) {
        List<Node> links = found.stream().map(Found::node).filter(n -> n.type().equals("symlink")).toList();
        Map<Long, String> targets = targets(links);
        found.replaceAll(f -> f.node().type().equals("symlink") ? f.withTarget(targets.get(f.node().inode())) : f);
    }

    /** An entry met by {@link #walk}: its workspace path, its node, and a link's target. */
    record Found(String path, Node node, String target) {
        Found(String path, Node node) {
            this(path, node, null);
        }

        Found withTarget(String t) {
            return new Found(path, node, t);
        }

        WorkspaceFiles.FileInfo info() {
            String type = node.type();
            return new WorkspaceFiles.FileInfo(path, type, type.equals("file") ? node.size() : 0, node.mode() & 0777,
                    type.equals("symlink") ? target == null ? "" : target : null);
        }
    }

    /**
     * The node at workspace path {@code rel} (normalised; "" is /workspace), each component looked up in its
     * directory; a link on the way is refused, as for a live tree. Null when it does not exist.
     */
    Found resolve(String rel) {
        Node at = workspace();
        String path = "";
        if (rel.isEmpty()) {
            return new Found("", at);
        }
        for (String part : rel.split("/")) {
            if (!at.type().equals("dir")) {
                throw at.type().equals("symlink") ? linkOnTheWay(rel)
                        : new DavitException(Kind.USAGE, "a part of '" + rel + "' is not a directory; check the path");
            }
            Node found = null;
            for (Node n : list(List.of(at.inode())).get(at.inode())) {
                if (part.equals(n.name())) {
                    found = n;
                    break;
                }
            }
            if (found == null) {
                return null;
            }
            at = found;
            path = join(path, part);
        }
        return new Found(path, at);
    }

    static DavitException linkOnTheWay(String rel) {
        return new DavitException(Kind.USAGE, "'" + rel + "' goes through a symbolic link (or is one); give the path"
                + " without links, inside /workspace");
    }

    /**
     * The first {@code max} bytes of regular file {@code n} ({@code cat}, capped: debugfs is stopped past them).
     */
    byte[] read(Node n, long max) {
        String request = "cat <" + n.inode() + ">";
        byte[] echo = ("debugfs: " + request + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(max + echo.length, 1 << 20));
        disk.debugfs(List.of(request), out, max + echo.length);
        byte[] all = out.toByteArray();
        if (all.length < echo.length || !java.util.Arrays.equals(all, 0, echo.length, echo, 0, echo.length)) {
            throw new DavitException(Kind.STORE, "debugfs printed something unexpected for " + request);
        }
        return java.util.Arrays.copyOfRange(all, echo.length, (int) Math.min(all.length, echo.length + max));
    }

    /**
     * Copies {@code found} (entries below workspace path {@code top}) into {@code stage} (empty, davit's own) at
     * their paths: directories and links made by davit (a link's target is only a string), regular files dumped by
     * debugfs under names davit makes and moved in, each checked to be a regular file of the size the disk claimed;
     * modes keep their permission bits only; devices, fifos, sockets and unreadable links go to {@code skipped}.
     * The sizes the disk claims are counted against {@code budget} before anything is dumped.
     */
    void stage(Found top, List<Found> found, Dir stage, Budget budget, List<String> skipped) throws IOException {
        List<Found> all = new ArrayList<>();
        if (!top.path().isEmpty()) {
            all.add(top);
        }
        all.addAll(found);
        List<Found> files = all.stream().filter(f -> f.node().type().equals("file")).toList();
        for (Found f : files) {
            budget.bytes(f.node().size());
        }
        List<String> dumps = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            dumps.add("dump <" + files.get(i).node().inode() + "> " + disk.dumpPath() + "/f" + i);
        }
        if (!dumps.isEmpty()) {
            disk.debugfs(dumps, java.io.OutputStream.nullOutputStream(), (long) dumps.size() * 512 + (1 << 20));
        }
        Map<String, Integer> fileIndex = new LinkedHashMap<>();
        for (int i = 0; i < files.size(); i++) {
            fileIndex.put(files.get(i).path(), i);
        }
        // parents of top, made plain
        if (!top.path().isEmpty()) {
            String[] parts = top.path().split("/");
            String p = "";
            for (int i = 0; i < parts.length - 1; i++) {
                p = join(p, parts[i]);
                stage.mkdir(p);
                stage.chmod(p, 0755);
            }
        }
        List<Found> dirs = new ArrayList<>();
        try (Dir dumped = Dir.open(disk.dumpDir(), "the dumped files")) {
            for (Found f : all) { // parents before children: path order, the top first
                budget.check();
                int slash = f.path().lastIndexOf('/');
                String name = f.path().substring(slash + 1);
                Dir parent;
                try {
                    parent = stage.dir(slash < 0 ? "" : f.path().substring(0, slash));
                } catch (IOException e) {
                    skipped.add(f.path()); // its directory was left out
                    continue;
                }
                try (parent) {
                    if (parent.stat(name) != null) {
                        skipped.add(f.path()); // a second entry of that name in one directory
                        continue;
                    }
                    switch (f.node().type()) {
                        case "dir" -> {
                            parent.mkdir(name);
                            dirs.add(f);
                        }
                        case "symlink" -> {
                            if (f.target() == null) {
                                skipped.add(f.path());
                            } else {
                                parent.symlink(name, f.target());
                            }
                        }
                        case "file" -> {
                            String from = "f" + fileIndex.get(f.path());
                            Stat st = dumped.stat(from);
                            if (st == null || !st.isRegularFile() || st.size() != f.node().size()) {
                                skipped.add(f.path()); // debugfs could not read all of it
                                continue;
                            }
                            dumped.rename(from, parent, name);
                            parent.chmod(name, f.node().mode() & 0777);
                        }
                        default -> skipped.add(f.path());
                    }
                }
            }
        }
        for (int i = dirs.size() - 1; i >= 0; i--) { // a directory's mode last: its content is made
            stage.chmod(dirs.get(i).path(), dirs.get(i).node().mode() & 0777);
        }
    }

    static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }
}
