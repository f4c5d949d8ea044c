package dev.davit.sandbox.build;

import static dev.davit.sandbox.build.BuildPaths.walkLinks;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.containerfile.Instruction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Paths of the image a stage builds, looked up in its tree ({@link ImageTree}) without unpacking it: the image's
 * links on the way followed within the image, what a destination's parents are there, and the attributes the staged
 * parents take from them.
 */
final class ImagePaths {
    /** The stage whose image they are of: its tree, its errors. */
    private final BuildStage bs;

    ImagePaths(BuildStage bs) {
        this.bs = bs;
    }

    /**
     * {@code absolute}, a path of the image, with the links of the image on the way to its last component
     * resolved as the image sees them: an absolute target from the image's root, {@code ..} stopping there, at
     * most 40 links. Only the link texts are read; nothing on the host is followed.
     */
    String inImage(String absolute, Instruction i) {
        if (absolute.equals("/")) {
            return absolute;
        }
        int slash = absolute.lastIndexOf('/');
        String last = absolute.substring(slash + 1);
        List<String> done = walkLinks(slash == 0 ? "" : absolute.substring(1, slash), path -> {
            ImageTree.Node p = bs.tree.stat(path);
            return p != null && p.symlink() ? p.link() : null;
        }, () -> bs.error(i, "the destination goes through more than 40 links of the image"));
        return "/" + (done.isEmpty() ? "" : String.join("/", done) + "/") + last;
    }

    /** {@code absolute} with every link of the image on the way followed within the image, the last one too. */
    String resolvedInImage(String absolute, Instruction i) {
        String p = inImage(absolute, i);
        for (int k = 0; k < 40; k++) {
            ImageTree.Node n = p.equals("/") ? null : bs.tree.stat(p.substring(1));
            if (n == null || !n.symlink()) {
                return p;
            }
            String link = n.link();
            String parent = p.substring(0, p.lastIndexOf('/'));
            p = inImage(Path.of("/").resolve(link.startsWith("/") ? link : parent + "/" + link).normalize()
                    .toString(), i);
        }
        throw bs.error(i, "the mount's target goes through more than 40 links of the image");
    }

    /**
     * What {@code absolute} is in root filesystem {@code base} (null: nothing); a link on the way to it is an
     * error (the image's own link is not followed on the host, and a real directory in its place would break it).
     */
    ImageTree.Node parentsOf(String absolute, Instruction i) {
        ImageTree.Node p = bs.tree.stat("");
        String[] parts = absolute.substring(1).split("/");
        String path = "";
        for (int k = 0; k < parts.length; k++) {
            if (parts[k].isEmpty()) {
                continue;
            }
            path = path.isEmpty() ? parts[k] : path + "/" + parts[k];
            p = bs.tree.stat(path);
            if (p != null && p.symlink()) {
                if (k == parts.length - 1) {
                    return null; // the destination itself: replaced
                }
                throw bs.error(i, "the destination goes through the image's link /" + String.join("/",
                        java.util.Arrays.copyOf(parts, k + 1)) + ", which davit does not follow yet; copy to what"
                        + " it names");
            }
            if (p == null) {
                return null;
            }
        }
        return p;
    }

    /**
     * Gives each staged directory above {@code target} (and {@code target} itself when {@code self}: a directory
     * of the image) the mode and time of the image's own, where it has one, and its owner in {@code owners} (the
     * layer's, never a chown: rootless, the builder could not give it); returns the others, which the COPY makes.
     */
    List<Path> matchParents(Path stage, Path target, boolean self, Map<String, BuildOptions.Owner> owners)
            throws IOException {
        List<Path> made = new ArrayList<>();
        for (Path d = self ? target : target.getParent(); d != null && d.startsWith(stage) && !d.equals(stage);
             d = d.getParent()) {
            String rel = stage.relativize(d).toString();
            ImageTree.Node there = bs.tree.stat(rel);
            if (there != null && there.directory()) {
                Files.setAttribute(d, "unix:mode", there.mode());
                owners.put(rel, new BuildOptions.Owner(there.uid(), there.gid())); // the layer's; no chown
                Files.setLastModifiedTime(d, there.mtime());
            } else {
                Files.setLastModifiedTime(d, java.nio.file.attribute.FileTime.from(bs.created == null
                        ? Instant.EPOCH : bs.created));
                made.add(d);
            }
        }
        return made;
    }
}
