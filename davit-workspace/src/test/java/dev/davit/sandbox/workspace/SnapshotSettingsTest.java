package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The settings a snapshot carries: written and read back the same; what no caller could give refused as forged. */
class SnapshotSettingsTest {
    @Test
    void theCarriedSettingsRoundTrip() throws Exception {
        SnapshotSettings s = new SnapshotSettings(Network.policy(EgressPolicy.parse(List.of("pypi.org"),
                List.of("198.51.100.0/24:443"), List.of(), List.of("evil.pypi.org"), List.of())),
                new Limits(512, 0.5, 256, 300), Map.of("team", "core"), Map.of("A", "1"));
        SnapshotSettings back = SnapshotSettings.fromJson(Json.read(Json.bytes(s.toJson())), "r");
        assertThat(back.limits()).isEqualTo(s.limits());
        assertThat(back.labels()).isEqualTo(s.labels());
        assertThat(back.env()).isEqualTo(s.env());
        assertThat(back.network().egress().rules()).isEqualTo(s.network().egress().rules());
        assertThat(SnapshotSettings.fromJson(Json.read(Json.bytes(new SnapshotSettings(Network.NAT, null, null, null)
                .toJson())), "r").network()).isSameAs(Network.NAT);
        // one pushed before settings travelled carries none
        assertThat(SnapshotSettings.fromJson(Json.read("{}").path("settings"), "r")).isEqualTo(SnapshotSettings.NONE);
        // the host's network is never carried
        assertThat(new SnapshotSettings(Network.HOST, null, null, null).toJson().has("network")).isFalse();
    }

    @Test
    void whatNoCallerCouldGiveIsRefusedAsForged() {
        for (String bad : List.of("{\"network\":{\"mode\":\"host\"}}", "{\"env\":{\"A=B\":\"1\"}}",
                "{\"labels\":{\"\":\"x\"}}", "{\"limits\":{\"memory_mib\":1}}", "{\"env\":{\"A\":1}}",
                "{\"limits\":{\"pids\":\"many\"}}", "[]",
                "{\"network\":{\"mode\":\"policy\",\"egress\":{\"allow\":[\"a b\"]}}}")) {
            assertThatThrownBy(() -> SnapshotSettings.fromJson(Json.read(bad), "reg/x:1")).as(bad)
                    .isInstanceOf(DavitException.class).satisfies(e -> {
                        assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.VERIFICATION);
                        assertThat(e.getMessage()).contains("reg/x:1").contains("push it again")
                                .doesNotContain("\n");
                    });
        }
    }

    @Test
    void theCallersOwnVariablesAndLabelsWin() {
        SnapshotSettings s = new SnapshotSettings(null, null, Map.of("team", "core", "x", "1"), Map.of("A", "1",
                "B", "2"));
        assertThat(s.envWith(Map.of("A", "mine"))).isEqualTo(Map.of("A", "mine", "B", "2"));
        assertThat(s.labelsWith(null)).isEqualTo(Map.of("team", "core", "x", "1"));
        assertThat(s.limitsFor("container", Limits.DEFAULT)).isEqualTo(Limits.DEFAULT); // none carried
        // a limit carried as none does not lift the default: only the caller's own choice does
        Limits pod = Limits.defaultFor("k8s");
        assertThat(new SnapshotSettings(null, Limits.NONE, null, null).limitsFor("k8s", pod)).isEqualTo(pod);
        assertThat(new SnapshotSettings(null, new Limits(512, 0, 0, 300), null, null).limitsFor("k8s", pod))
                .isEqualTo(new Limits(512, pod.cpus(), 0, 300));
        // a process limit carried from a container is not one a pod can have (its node's kubelet bounds it)
        assertThat(new SnapshotSettings(null, new Limits(512, 1, 100, 300), null, null).limitsFor("k8s", pod)
                .pids()).isZero();
        assertThat(new SnapshotSettings(null, new Limits(512, 1, 100, 300), null, null).limitsFor("vm", Limits.NONE))
                .isEqualTo(Limits.NONE);
    }

    @Test
    void aCarriedPolicyOpensNoSpecialAddressWithoutTheCaller() {
        for (String special : List.of("127.0.0.1/32:22", "169.254.169.254/32:80", "10.0.0.0/8", "0.0.0.0/0")) {
            SnapshotSettings s = new SnapshotSettings(Network.policy(EgressPolicy.parse(List.of("pypi.org"),
                    List.of(special), List.of(), List.of(), List.of())), null, null, null);
            assertThatThrownBy(() -> s.networkFor("reg/x:1")).as(special).isInstanceOf(DavitException.class)
                    .satisfies(e -> {
                        assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
                        assertThat(e.getMessage()).contains("reg/x:1").contains("special addresses")
                                .doesNotContain("\n");
                    });
        }
        Network fine = Network.policy(EgressPolicy.parse(List.of("pypi.org", "*.npmjs.org"),
                List.of("198.51.100.0/24:443"), List.of(), List.of(), List.of("10.0.0.0/8")));
        assertThat(new SnapshotSettings(fine, null, null, null).networkFor("r")).isSameAs(fine);
        assertThat(new SnapshotSettings(Network.NAT, null, null, null).networkFor("r")).isSameAs(Network.NAT);
        assertThat(SnapshotSettings.NONE.networkFor("r")).isNull();
        assertThat(new SnapshotSettings(fine, new Limits(512, 1, 100, 300), Map.of("a", "b"), Map.of("A", "1"))
                .describe()).isEqualTo("network: policy of 4 entries, limits, 1 label, 1 variable");
        assertThat(SnapshotSettings.NONE.describe()).isEqualTo("nothing");
    }
}
