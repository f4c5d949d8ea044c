package dev.davit.env.install;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the file system says about a file right after an install verified its content: device, inode, size and
 * the modification and change times in nanoseconds. Any write through the file system moves the change time (which
 * no user can set back), and replacing the file changes the inode, so while a file still has its stamp its content
 * is the verified one, and {@link InstallValidator} need not hash it again. Changes below the file system (a
 * failing disk, writes to the raw device) are not seen.
 *
 * @param device  {@code st_dev}
 * @param inode   {@code st_ino}
 * @param size    bytes
 * @param mtimeNs modification time, ns since the epoch
 * @param ctimeNs change time, ns since the epoch
 */
public record FileStamp(long device, long inode, long size, long mtimeNs, long ctimeNs) {

    /** The stamp of {@code file} now (not following links). */
    public static FileStamp of(Path file) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime",
                LinkOption.NOFOLLOW_LINKS);
        return new FileStamp((Long) a.get("dev"), (Long) a.get("ino"), (Long) a.get("size"),
                ns((FileTime) a.get("lastModifiedTime")), ns((FileTime) a.get("ctime")));
    }

    private static long ns(FileTime t) {
        return t.to(TimeUnit.NANOSECONDS);
    }

    ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("dev", device);
        o.put("ino", inode);
        o.put("size", size);
        o.put("mtime_ns", mtimeNs);
        o.put("ctime_ns", ctimeNs);
        return o;
    }

    /** Parses a stamp; null when {@code n} is missing or not a complete stamp (the file is then hashed). */
    static FileStamp parse(JsonNode n) {
        if (n == null || !n.isObject()) {
            return null;
        }
        for (String k : new String[] {"dev", "ino", "size", "mtime_ns", "ctime_ns"}) {
            if (!n.path(k).isIntegralNumber()) {
                return null;
            }
        }
        return new FileStamp(n.get("dev").asLong(), n.get("ino").asLong(), n.get("size").asLong(),
                n.get("mtime_ns").asLong(), n.get("ctime_ns").asLong());
    }
}
