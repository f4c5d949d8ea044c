package dev.davit.oci.build;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.manifest.Platform;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BuildOptionsTest {

    @Test
    void defaults() {
        BuildOptions o = BuildOptions.defaults();
        assertThat(o.compression()).isEqualTo(Compression.GZIP);
        assertThat(o.effectiveLevel()).isEqualTo(6);
        assertThat(o.fileMtime()).isEqualTo(Instant.EPOCH);
        assertThat(o.created()).isNull();
        assertThat(o.base()).isNull();
        assertThat(o.cmd()).isNull();
        assertThat(o.keepMtimes()).isFalse();
        assertThat(o.preserveOwner()).isFalse();
    }

    @Test
    void laterEnvAndLabelValuesWinAndPortsAreNormalised() {
        BuildOptions o = BuildOptions.builder().env("A=1").env("B", "x=y").env("A=2").label("k=v").label("k", "w")
                .exposedPort("8080").exposedPort("53/UDP").exposedPort("8080/tcp").base("alpine")
                .platform(Platform.parse("arm64")).build();
        assertThat(o.env()).containsExactly(Map.entry("B", "x=y"), Map.entry("A", "2"));
        assertThat(o.labels()).containsExactly(Map.entry("k", "w"));
        assertThat(o.exposedPorts()).containsExactlyInAnyOrder("8080/tcp", "53/udp");
        assertThat(o.base().toString()).isEqualTo("docker.io/library/alpine:latest");
        assertThat(o.platform().toString()).isEqualTo("linux/arm64/v8");
        assertThat(o.toBuilder().build()).isEqualTo(o);
        assertThat(o.toBuilder().keepMtimes(true).build().keepMtimes()).isTrue();
    }

    @Test
    void conflictsAndMalformedValuesAreRejected() {
        assertDavitError(() -> BuildOptions.builder().keepMtimes(true).fileMtime(Instant.EPOCH).build(), Kind.USAGE,
                "conflicts");
        assertDavitError(() -> BuildOptions.builder().compression(Compression.NONE).compressionLevel(3).build(),
                Kind.USAGE, "gzip or zstd");
        assertDavitError(() -> BuildOptions.builder().compressionLevel(10).build(), Kind.USAGE, "1-9");
        assertDavitError(() -> BuildOptions.builder().compression(Compression.ZSTD).compressionLevel(23).build(),
                Kind.USAGE, "1-22");
        assertDavitError(() -> BuildOptions.builder().env("NOEQUALS").build(), Kind.USAGE, "KEY=VALUE");
        assertDavitError(() -> BuildOptions.builder().env("=v").build(), Kind.USAGE, "KEY=VALUE");
        assertDavitError(() -> BuildOptions.builder().label("=v").build(), Kind.USAGE, "label");
        assertDavitError(() -> BuildOptions.builder().workdir("app").build(), Kind.USAGE, "absolute");
        assertDavitError(() -> BuildOptions.builder().user("a b").build(), Kind.USAGE, "user");
        assertDavitError(() -> BuildOptions.builder().exposedPort("99999").build(), Kind.USAGE, "exposed port");
        assertDavitError(() -> BuildOptions.builder().exposedPort("80/icmp").build(), Kind.USAGE, "exposed port");
        assertDavitError(() -> BuildOptions.builder().base("Not A Ref"), Kind.USAGE, "invalid reference");
        assertDavitError(() -> Compression.parse("bzip2"), Kind.USAGE, "gzip, zstd or none");
        assertThat(Compression.parse("ZSTD")).isEqualTo(Compression.ZSTD);
        assertThat(BuildOptions.builder().cmd(List.of()).build().cmd()).isEmpty();
    }

    @Test
    void sourceDateEpoch() {
        assertThat(BuildOptions.sourceDateEpoch(Map.of())).isNull();
        assertThat(BuildOptions.sourceDateEpoch(Map.of("SOURCE_DATE_EPOCH", " "))).isNull();
        assertThat(BuildOptions.sourceDateEpoch(Map.of("SOURCE_DATE_EPOCH", "1700000000")))
                .isEqualTo(Instant.parse("2023-11-14T22:13:20Z"));
        assertDavitError(() -> BuildOptions.sourceDateEpoch(Map.of("SOURCE_DATE_EPOCH", "yesterday")), Kind.USAGE,
                "SOURCE_DATE_EPOCH");
        assertDavitError(() -> BuildOptions.sourceDateEpoch(Map.of("SOURCE_DATE_EPOCH", "-5")), Kind.USAGE,
                "SOURCE_DATE_EPOCH");
    }
}
