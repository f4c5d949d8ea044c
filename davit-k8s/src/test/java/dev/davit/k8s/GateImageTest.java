package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What of a jar on davit's class path goes into the egress gate's image (no cluster needed). */
class GateImageTest {
    @Test
    void onlyDavitsAndJacksonsClassesAndTheManifestGoIntoTheGatesJar() {
        for (String kept : List.of("META-INF/MANIFEST.MF", "dev/davit/sandbox/network/Gate.class",
                "dev/davit/oci/internal/Json.class", "com/fasterxml/jackson/databind/ObjectMapper.class",
                "META-INF/versions/22/dev/davit/sandbox/network/LinuxGateSys.class",
                "META-INF/versions/22/com/fasterxml/jackson/core/io/X.class")) {
            assertThat(GateImage.gateEntry(kept)).as(kept).isTrue();
        }
        for (String dropped : List.of("io/fabric8/kubernetes/client/KubernetesClient.class",
                "org/bouncycastle/jce/provider/BouncyCastleProvider.class", "META-INF/versions/9/module-info.class",
                "META-INF/versions/22/org/eclipse/jetty/X.class", "META-INF/services/x", "picocli/CommandLine.class",
                "META-INF/versions/")) {
            assertThat(GateImage.gateEntry(dropped)).as(dropped).isFalse();
        }
    }
}
