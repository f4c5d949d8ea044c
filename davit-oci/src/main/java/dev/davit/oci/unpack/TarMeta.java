package dev.davit.oci.unpack;

import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * The metadata of a tar entry that is applied to what it creates.
 *
 * @param mode   permission bits with set-uid, set-gid and sticky ({@code 07777})
 * @param uid    numeric owner (user names are ignored, as by OCI runtimes)
 * @param gid    numeric group
 * @param mtime  modification time
 * @param atime  access time ({@code mtime} when the entry has none)
 * @param xattrs extended attributes from {@code SCHILY.xattr.*} PAX records, name to value
 */
record TarMeta(int mode, long uid, long gid, FileTime mtime, FileTime atime, Map<String, String> xattrs) {
    private static final String XATTR = "SCHILY.xattr.";

    private static final long MAX_ID = 0xFFFF_FFFEL;

    /** The metadata of {@code e}; ids that do not fit Linux's 32-bit {@code uid_t} are refused. */
    static TarMeta of(TarArchiveEntry e) throws Refused {
        if (e.getLongUserId() < 0 || e.getLongUserId() > MAX_ID || e.getLongGroupId() < 0
                || e.getLongGroupId() > MAX_ID) {
            throw new Refused("its uid or gid is out of range");
        }
        FileTime mtime = e.getLastModifiedTime();
        FileTime atime = e.getLastAccessTime();
        Map<String, String> x = Map.of();
        Map<String, String> pax = e.getExtraPaxHeaders();
        if (!pax.isEmpty()) {
            x = new LinkedHashMap<>();
            for (Map.Entry<String, String> h : pax.entrySet()) {
                if (h.getKey().startsWith(XATTR) && h.getKey().length() > XATTR.length()) {
                    x.put(h.getKey().substring(XATTR.length()), h.getValue());
                }
            }
        }
        return new TarMeta(e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(), mtime,
                atime == null ? mtime : atime, x);
    }

    /** This metadata with only the nine permission bits and no extended attributes (an untrusted tar's). */
    TarMeta permissionsOnly() {
        return new TarMeta(mode & 0777, uid, gid, mtime, atime, Map.of());
    }
}
