package dev.davit.env.resolve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.env.resolve.NameResolver.Action;
import dev.davit.env.resolve.NameResolver.Kind;
import dev.davit.oci.DavitException;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NameResolverTest {

    /** Facts from plain sets: the resolver sees nothing else. */
    record SetFacts(Set<String> catalog, Set<String> installed, Set<String> downloadable, Set<String> store,
                    Set<String> files, Set<String> dirs, Set<String> imported) implements NameResolver.Facts {
        public boolean isCatalogEnvironment(String n) {
            return catalog.contains(n);
        }

        public boolean isInstalled(String n) {
            return installed.contains(n);
        }

        public boolean hasDownloadableSource(String n) {
            return downloadable.contains(n);
        }

        public boolean storeHas(String r) {
            return store.contains(r);
        }

        public boolean isRegularFile(String p) {
            return files.contains(p);
        }

        public boolean isDirectory(String p) {
            return dirs.contains(p);
        }

        public boolean bundleImported(String p) {
            return imported.contains(p);
        }
    }

    static final SetFacts FACTS = new SetFacts(
            Set.of("debian:12", "debian:12-build", "debian:12-vm", "offline-only"),
            Set.of("debian:12"),
            Set.of("debian:12", "debian:12-build", "debian:12-vm"),
            Set.of("docker.io/library/alpine:3.20", "127.0.0.1:5000/team/app:1"),
            Set.of("env.tar.zst", "./old.tar"),
            Set.of("./rootfs", "debian:12-build"),
            Set.of("./old.tar"));

    static NameResolver.Resolution r(String name) {
        return NameResolver.resolve(name, FACTS);
    }

    @Test
    void catalogEnvironments() {
        assertThat(r("debian:12")).extracting(NameResolver.Resolution::kind, NameResolver.Resolution::action)
                .containsExactly(Kind.CATALOG_ENVIRONMENT, Action.INSTALLED);
        assertThat(r("debian:12-vm").action()).isEqualTo(Action.PULL);
        assertThat(r("offline-only")).extracting(NameResolver.Resolution::kind, NameResolver.Resolution::action)
                .containsExactly(Kind.CATALOG_ENVIRONMENT, Action.MISSING);
    }

    /** The catalog environments of {@link #FACTS}, with build profiles, store copies and offline mode. */
    record BuildFacts(Set<String> buildable, Set<String> stored, boolean offline) implements NameResolver.Facts {
        public boolean isCatalogEnvironment(String n) {
            return FACTS.isCatalogEnvironment(n);
        }

        public boolean isInstalled(String n) {
            return FACTS.isInstalled(n);
        }

        public boolean hasDownloadableSource(String n) {
            return FACTS.hasDownloadableSource(n);
        }

        public boolean storeHas(String r) {
            return FACTS.storeHas(r);
        }

        public boolean isRegularFile(String p) {
            return false;
        }

        public boolean isDirectory(String p) {
            return false;
        }

        public boolean bundleImported(String p) {
            return false;
        }

        @Override
        public String buildProfile(String n) {
            return buildable.contains(n) ? "git" : null;
        }

        @Override
        public boolean catalogEnvironmentInStore(String n) {
            return stored.contains(n);
        }
    }

    @Test
    void catalogEnvironmentsWithBuildProfilesAndStoreCopies() {
        NameResolver.Facts online = new BuildFacts(Set.of("debian:12-vm", "offline-only"), Set.of(), false);
        assertThat(NameResolver.resolve("debian:12", online).action()).isEqualTo(Action.INSTALLED);
        assertThat(NameResolver.resolve("debian:12-vm", online)).extracting(NameResolver.Resolution::action,
                NameResolver.Resolution::reason).containsExactly(Action.PULL,
                "catalog environment, not installed; pull it, else build it from profile git");
        assertThat(NameResolver.resolve("offline-only", online)).extracting(NameResolver.Resolution::action,
                NameResolver.Resolution::reason).containsExactly(Action.BUILD,
                "catalog environment, not installed; build it from profile git");
        assertThat(NameResolver.resolve("debian:12-build", online).action()).isEqualTo(Action.PULL);

        NameResolver.Facts offline = new BuildFacts(Set.of("debian:12-vm", "offline-only"), Set.of("debian:12-vm"),
                true);
        assertThat(NameResolver.resolve("debian:12", offline).action()).isEqualTo(Action.INSTALLED);
        assertThat(NameResolver.resolve("debian:12-vm", offline)).extracting(NameResolver.Resolution::action,
                NameResolver.Resolution::reason).containsExactly(Action.PULL,
                "catalog environment, not installed; in the store, installs without the network");
        assertThat(NameResolver.resolve("offline-only", offline).action()).isEqualTo(Action.MISSING);
        assertThat(NameResolver.resolve("debian:12-build", offline).action()).isEqualTo(Action.MISSING);
    }

    @Test
    void registryImages() {
        assertThat(r("alpine:3.20")).extracting(NameResolver.Resolution::kind, NameResolver.Resolution::action,
                NameResolver.Resolution::target).containsExactly(Kind.REGISTRY_IMAGE, Action.INSTALLED,
                "docker.io/library/alpine:3.20");
        assertThat(r("ghcr.io/o/r:1")).extracting(NameResolver.Resolution::action, NameResolver.Resolution::target)
                .containsExactly(Action.PULL, "ghcr.io/o/r:1");
        assertThat(r("127.0.0.1:5000/team/app:1").action()).isEqualTo(Action.INSTALLED);
    }

    @Test
    void bundlesAndDirectories() {
        assertThat(r("env.tar.zst")).extracting(NameResolver.Resolution::kind, NameResolver.Resolution::action)
                .containsExactly(Kind.LOCAL_BUNDLE, Action.PULL);
        assertThat(r("./old.tar").action()).isEqualTo(Action.INSTALLED);
        assertThat(r("./missing.tar.gz")).extracting(NameResolver.Resolution::kind, NameResolver.Resolution::action)
                .containsExactly(Kind.LOCAL_BUNDLE, Action.MISSING);
        assertThat(r("./rootfs")).extracting(NameResolver.Resolution::kind, NameResolver.Resolution::action)
                .containsExactly(Kind.LOCAL_IMAGE, Action.BUILD);
    }

    @Test
    void precedence() {
        // a directory named like a catalog environment is a build: files on disk come first
        assertThat(r("debian:12-build").kind()).isEqualTo(Kind.LOCAL_IMAGE);
        // a catalog name that is also a Docker reference is the catalog environment
        assertThat(r("debian:12-vm").kind()).isEqualTo(Kind.CATALOG_ENVIRONMENT);
        // a bundle-looking name that is not path-like and not a file falls through: x.tar is a valid image name
        assertThat(r("x.tar")).extracting(NameResolver.Resolution::kind, NameResolver.Resolution::target)
                .containsExactly(Kind.REGISTRY_IMAGE, "docker.io/library/x.tar:latest");
    }

    @Test
    void unknownAndEmpty() {
        assertThat(r("Not A Name")).extracting(NameResolver.Resolution::kind, NameResolver.Resolution::action)
                .containsExactly(Kind.UNKNOWN, Action.MISSING);
        assertThatThrownBy(() -> r(" ")).isInstanceOf(DavitException.class).hasMessageContaining("the name is empty");
    }

    @Test
    void isPureSameInputsSameOutput() {
        for (String n : new String[] {"debian:12", "alpine:3.20", "env.tar.zst", "./rootfs", "zzz"}) {
            assertThat(r(n)).isEqualTo(r(n));
        }
    }
}
