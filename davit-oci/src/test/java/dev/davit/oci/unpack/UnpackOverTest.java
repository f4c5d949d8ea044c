package dev.davit.oci.unpack;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.store.OciStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An unpack that starts from an earlier unpack's tree (a build's next step): the same tree as a whole unpack, and
 * the tree it started from unchanged, though the layers on top replace, re-mode and remove its files.
 */
class UnpackOverTest {
    @TempDir
    Path tmp;

    @Test
    void theTreeIsAWholeUnpacksAndTheLowerOneStaysAsItWas() throws Exception {
        OciStore store = OciStore.open(tmp.resolve("store"));
        byte[] base = new TarBuilder().dir("etc").file("etc/conf", "one").file("etc/keep", "keep")
                .file("bin/tool", "tool".getBytes(), 0755).dir("var/cache").file("var/cache/a", "a")
                .hardlink("etc/conf-link", "etc/conf").symlink("etc/alias", "conf").build();
        byte[] second = new TarBuilder().file("etc/added", "added").build();
        byte[] top = new TarBuilder().file("etc/conf", "two").file("bin/tool", "tool".getBytes(), 0700)
                .whiteout("etc", "keep").opaque("var/cache").file("var/cache/b", "b").dir("", 0750).build();
        Descriptor lowerImage = StoreImages.image(store).layer(base).layer(second).manifest();
        Descriptor image = StoreImages.image(store).layer(base).layer(second).layer(top).manifest();
        Path lower = tmp.resolve("lower");
        Unpacker u = new Unpacker(store, UnpackOptions.defaults());
        u.unpack(lowerImage, PlatformSelector.host(), lower);
        SortedMap<String, Tree.Node> before = Tree.of(lower);

        UnpackResult r = u.unpackOver(image, PlatformSelector.host(), tmp.resolve("over"), lower, 2);
        assertThat(r.layers()).hasSize(1); // only the layer on top was read
        u.unpack(image, PlatformSelector.host(), tmp.resolve("whole"));
        SortedMap<String, Tree.Node> over = Tree.of(tmp.resolve("over"));
        SortedMap<String, Tree.Node> whole = Tree.of(tmp.resolve("whole"));
        // link counts differ (the over tree shares its untouched files with the lower one); all else is the same
        assertThat(over.keySet()).isEqualTo(whole.keySet());
        for (String p : whole.keySet()) {
            Tree.Node a = over.get(p);
            Tree.Node b = whole.get(p);
            assertThat(new Tree.Node(a.type(), a.mode(), a.target(), a.content(), 0)).as(p)
                    .isEqualTo(new Tree.Node(b.type(), b.mode(), b.target(), b.content(), 0));
        }
        assertThat(Files.readString(tmp.resolve("over/etc/conf"))).isEqualTo("two");
        assertThat(Files.getAttribute(tmp.resolve("over"), "unix:mode")).isEqualTo(040750);
        assertThat(Tree.of(lower)).as("the lower tree, after the unpack over it").isEqualTo(
                withLinks(before, Tree.of(lower)));
        assertThat(Files.readString(lower.resolve("etc/conf"))).isEqualTo("one");
        assertThat(Files.getAttribute(lower.resolve("bin/tool"), "unix:mode")).isEqualTo(0100755);
        assertThat(lower.resolve("etc/keep")).exists();
        assertThat(lower.resolve("var/cache/a")).exists();
    }

    /** {@code before} with the link counts of {@code now} (an unchanged file shared with the new tree has one more). */
    private static SortedMap<String, Tree.Node> withLinks(SortedMap<String, Tree.Node> before,
                                                         SortedMap<String, Tree.Node> now) {
        SortedMap<String, Tree.Node> m = new java.util.TreeMap<>();
        before.forEach((p, n) -> m.put(p, new Tree.Node(n.type(), n.mode(), n.target(), n.content(),
                now.containsKey(p) ? now.get(p).nlink() : n.nlink())));
        return m;
    }

    /** Rootless, the owners record of the tree below is carried over, changed by the layers on top. */
    @Test
    void aRootlessUnpackCarriesTheOwnersRecordOfTheTreeBelow() throws Exception {
        OciStore store = OciStore.open(tmp.resolve("store"));
        org.apache.commons.compress.archivers.tar.TarArchiveEntry owned = TarBuilder.entry("home/app/data",
                org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL);
        owned.setIds(1000, 1001);
        owned.setMode(0644);
        org.apache.commons.compress.archivers.tar.TarArchiveEntry gone = TarBuilder.entry("home/app/old",
                org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL);
        gone.setIds(1000, 1001);
        gone.setMode(0644);
        byte[] base = new TarBuilder().dir("home").dir("home/app").add(owned, new byte[0]).add(gone, new byte[0])
                .build();
        org.apache.commons.compress.archivers.tar.TarArchiveEntry added = TarBuilder.entry("home/app/new",
                org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL);
        added.setIds(2000, 2000);
        added.setMode(0644);
        byte[] top = new TarBuilder().add(added, new byte[0]).whiteout("home/app", "old").build();
        Descriptor lowerImage = StoreImages.image(store).layer(base).manifest();
        Descriptor image = StoreImages.image(store).layer(base).layer(top).manifest();
        Unpacker u = new Unpacker(store, UnpackOptions.builder().privileges(UnpackOptions.Privileges.ROOTLESS)
                .build());
        Path lower = tmp.resolve("lower");
        u.unpack(lowerImage, PlatformSelector.host(), lower);
        u.unpackOver(image, PlatformSelector.host(), tmp.resolve("over"), lower, 1);
        assertThat(Owners.read(tmp.resolve("over"))).containsExactly(
                java.util.Map.entry("home/app/data", new Owners.Owner(1000, 1001)),
                java.util.Map.entry("home/app/new", new Owners.Owner(2000, 2000)));
        assertThat(Owners.read(lower)).containsOnlyKeys("home/app/data", "home/app/old");
    }

    @Test
    void moreLayersBelowThanTheImageHasIsRefused() {
        OciStore store = OciStore.open(tmp.resolve("store"));
        Descriptor image = StoreImages.image(store).layer(new TarBuilder().file("a", "a").build()).manifest();
        Unpacker u = new Unpacker(store, UnpackOptions.defaults());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> u.unpackOver(image, PlatformSelector.host(),
                tmp.resolve("x"), tmp, 2)).isInstanceOf(DavitException.class).hasMessageContaining("has 1 layers");
        assertThat(tmp.resolve("x")).doesNotExist();
    }
}
