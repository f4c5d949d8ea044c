package dev.davit.oci.containerfile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Stages as a build sees them: global ARGs in FROM, build arguments over defaults, a stage as another's base or
 * COPY source (by name or index), the target's needs only, unknown targets and unused build arguments.
 */
class BuildPlanTest {
    private static final String FILE = """
            ARG BASE=debian
            ARG TAG=12
            FROM $BASE:${TAG} AS deps
            RUN make deps
            FROM deps AS build
            ARG TAG
            COPY --from=0 /a /a
            RUN make
            FROM alpine:3 AS unused
            RUN true
            FROM scratch AS final
            COPY --from=build /out /
            COPY --from=docker.io/library/busybox:1 /bin/busybox /bin/
            """;

    /** The automatic platform ARGs are the host's, in the global scope: a FROM takes them; a build argument wins. */
    @Test
    void theAutomaticPlatformArgsAreTheHostsInTheGlobalScope() {
        String arch = dev.davit.oci.manifest.Platform.host().architecture();
        BuildPlan p = BuildPlan.of(Containerfile.parse("FROM tools:${TARGETARCH}-${BUILDOS}\n", "Containerfile"),
                null, Map.of());
        assertThat(p.stages().get(0).base()).isEqualTo("tools:" + arch + "-linux");
        assertThat(p.globals()).containsEntry("TARGETPLATFORM", "linux/" + arch).containsEntry("TARGETVARIANT", "");
        assertThat(BuildPlan.of(Containerfile.parse("FROM tools:${TARGETARCH}\n", "Containerfile"), null,
                Map.of("TARGETARCH", "riscv64")).stages().get(0).base()).isEqualTo("tools:riscv64");
    }

    @Test
    void theTargetAndWhatItNeedsInFileOrder() {
        BuildPlan p = BuildPlan.of(Containerfile.parse(FILE, "Containerfile"), null, Map.of("TAG", "13"));
        assertThat(p.stages()).extracting(BuildPlan.Stage::label).containsExactly("deps", "build", "final");
        assertThat(p.stages().get(0).base()).isEqualTo("debian:13");
        assertThat(p.stages().get(1).baseStage()).isEqualTo(0);
        assertThat(p.stages().get(1).base()).isEqualTo("debian:13");
        assertThat(p.stages().get(1).copiesFrom()).containsExactly(0);
        assertThat(p.target().label()).isEqualTo("final");
        assertThat(p.target().base()).isEqualTo("scratch");
        assertThat(p.target().copiesFrom()).containsExactly(1); // busybox is an image, not a stage
        assertThat(p.globals()).containsEntry("BASE", "debian").containsEntry("TAG", "13");
        assertThat(p.unusedArgs()).isEmpty();

        BuildPlan deps = BuildPlan.of(Containerfile.parse(FILE, "Containerfile"), "DEPS", Map.of("NOPE", "1"));
        assertThat(deps.stages()).extracting(BuildPlan.Stage::label).containsExactly("deps");
        assertThat(deps.stages().get(0).base()).isEqualTo("debian:12");
        assertThat(deps.unusedArgs()).containsExactly("NOPE");
        assertThat(BuildPlan.of(Containerfile.parse(FILE, "Containerfile"), "2", Map.of()).target().label())
                .isEqualTo("unused");
    }

    @Test
    void whatNamesNoStageIsRefusedInOneLine() {
        Containerfile f = Containerfile.parse(FILE, "Containerfile");
        assertThatThrownBy(() -> BuildPlan.of(f, "nope", Map.of())).hasMessage("Containerfile has no stage nope;"
                + " its stages: deps, build, unused, final");
        assertThatThrownBy(() -> BuildPlan.of(Containerfile.parse("ARG B\nFROM $B\n", "Containerfile"), null,
                Map.of())).hasMessageContaining("Containerfile:2: FROM $B is empty once expanded");
        assertThatThrownBy(() -> BuildPlan.of(Containerfile.parse("FROM a AS x\nFROM b AS X\n", "Containerfile"),
                null, Map.of())).hasMessageContaining("Containerfile:2: a second stage is named x");
    }

    @Test
    void manyStagesEachOnTheLastAreNoDeepRecursion() {
        StringBuilder f = new StringBuilder("FROM scratch AS s0\n");
        for (int i = 1; i < 5000; i++) {
            f.append("FROM s").append(i - 1).append(" AS s").append(i).append('\n');
        }
        BuildPlan p = BuildPlan.of(Containerfile.parse(f.toString(), "Containerfile"), null, Map.of());
        assertThat(p.stages()).hasSize(5000);
        assertThat(p.target().base()).isEqualTo("scratch");
    }
}
