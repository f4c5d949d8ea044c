package dev.davit.oci.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link ImageConfiguration#parse}: an OCI config read into davit's type, leniently, with the document kept. */
class ImageConfigurationTest {
    private static ImageConfiguration parse(String json) {
        return ImageConfiguration.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsTheFieldsOfAConfigAndKeepsTheDocumentAsStored() {
        String doc = """
                {"created":"2024-05-01T10:00:00.5+02:00","author":"me","architecture":"arm64","os":"linux",\
                "variant":"v8","config":{"User":"app:app","Env":["PATH=/bin","A=1"],"Entrypoint":["/init"],\
                "Cmd":["serve","-v"],"WorkingDir":"/srv","Labels":{"b":"2","a":"1"},\
                "ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},"StopSignal":"SIGINT"},\
                "rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]},\
                "history":[{"created":"2024-05-01T08:00:00Z","created_by":"ADD file","empty_layer":false},\
                {"created_by":"CMD serve","comment":"c","empty_layer":true}]}""";
        ImageConfiguration c = parse(doc);
        assertThat(c.json()).isEqualTo(doc);
        assertThat(c.platform()).isEqualTo(new Platform("linux", "arm64", "v8"));
        assertThat(c.created()).isEqualTo(Instant.parse("2024-05-01T08:00:00.5Z"));
        assertThat(c.author()).isEqualTo("me");
        ImageConfiguration.RunDefaults d = c.defaults();
        assertThat(d.user()).isEqualTo("app:app");
        assertThat(d.env()).containsExactly("PATH=/bin", "A=1");
        assertThat(d.entrypoint()).containsExactly("/init");
        assertThat(d.cmd()).containsExactly("serve", "-v");
        assertThat(d.workingDir()).isEqualTo("/srv");
        assertThat(d.labels()).containsExactly(Map.entry("b", "2"), Map.entry("a", "1"));
        assertThat(d.exposedPorts()).containsExactly("80/tcp", "53/udp");
        assertThat(d.volumes()).containsExactly("/data");
        assertThat(d.stopSignal()).isEqualTo("SIGINT");
        assertThat(c.diffIds()).containsExactly("sha256:aa", "sha256:bb");
        assertThat(c.history()).containsExactly(
                new ImageConfiguration.History(Instant.parse("2024-05-01T08:00:00Z"), "ADD file", null, false),
                new ImageConfiguration.History(null, "CMD serve", "c", true));
    }

    @Test
    void readsLenientlyWhatIsMissingOrOfAnotherType() {
        ImageConfiguration c = parse("{\"os\":\"linux\",\"created\":\"yesterday\",\"config\":{\"Env\":\"A=1\","
                + "\"Cmd\":[\"x\",1],\"WorkingDir\":\" \",\"Labels\":{\"n\":3,\"s\":\"t\"}},\"rootfs\":7}");
        assertThat(c.platform()).isNull(); // no architecture
        assertThat(c.created()).isNull();
        assertThat(c.defaults().env()).isEmpty();
        assertThat(c.defaults().cmd()).containsExactly("x", "1");
        assertThat(c.defaults().workingDir()).isNull();
        assertThat(c.defaults().labels()).containsExactly(Map.entry("s", "t"));
        assertThat(c.diffIds()).isEmpty();
        // an artifact's config may be any JSON: no fields, the document kept
        ImageConfiguration empty = parse("[1,2]");
        assertThat(empty.defaults()).isEqualTo(ImageConfiguration.RunDefaults.NONE);
        assertThat(empty.json()).isEqualTo("[1,2]");
        assertThat(parse("{}").history()).isEmpty();
    }

    @Test
    void refusesWhatIsNotJson() {
        assertThatThrownBy(() -> parse("{\"os\":")).isInstanceOf(DavitException.class)
                .hasMessageContaining("not valid JSON")
                .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.VERIFICATION));
    }
}
