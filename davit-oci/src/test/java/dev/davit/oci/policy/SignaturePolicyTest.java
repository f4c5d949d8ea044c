package dev.davit.oci.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.reference.Reference;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * containers-policy.json as containers/image reads it: strict parsing (unknown and duplicated fields, empty lists,
 * bad scopes refused with where and why), the docker transport's scope precedence (reference, repository,
 * namespaces, registry, wildcards, transport default, global default) and the signedIdentity rules.
 */
class SignaturePolicyTest {
    private static SignaturePolicy parse(String json) {
        return SignaturePolicy.parse(json.getBytes(StandardCharsets.UTF_8), "policy.json");
    }

    private static final String POLICY = """
            {
              "default": [{"type": "reject"}],
              "transports": {
                "docker": {
                  "": [{"type": "insecureAcceptAnything"}],
                  "registry.example.com": [{"type": "sigstoreSigned", "keyPath": "/keys/registry.pub"}],
                  "registry.example.com/team": [{"type": "sigstoreSigned", "keyPath": "/keys/team.pub"}],
                  "registry.example.com/team/app": [{"type": "reject"}],
                  "registry.example.com/team/app:stable": [{"type": "insecureAcceptAnything"}],
                  "*.example.com": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["/k/a.gpg", "/k/b.gpg"]}],
                  "*.mirror.example.com": [{"type": "reject"}],
                  "localhost:5000/x": [{"type": "sigstoreSigned", "keyData": "LS0tLS0=",
                      "signedIdentity": {"type": "remapIdentity", "prefix": "localhost:5000", "signedPrefix": "quay.io/org"}}]
                },
                "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}
              }
            }
            """;

    @Test
    void theMostSpecificScopeWins() {
        SignaturePolicy p = parse(POLICY);
        assertThat(p.requirementsFor(Reference.parse("registry.example.com/team/app:stable")).scope())
                .isEqualTo("registry.example.com/team/app:stable");
        assertThat(p.requirementsFor(Reference.parse("registry.example.com/team/app:1")).rejects()).isTrue();
        SignaturePolicy.Applied team = p.requirementsFor(Reference.parse("registry.example.com/team/other/deep:1"));
        assertThat(team.scope()).isEqualTo("registry.example.com/team");
        assertThat(((SignaturePolicy.SigstoreSigned) team.requirements().get(0)).keyPath()).hasToString(
                "/keys/team.pub");
        assertThat(p.requirementsFor(Reference.parse("registry.example.com/solo:1")).scope())
                .isEqualTo("registry.example.com");
        // wildcards: the nearest parent domain first; never for the registry itself
        assertThat(p.requirementsFor(Reference.parse("a.mirror.example.com/x:1")).scope())
                .isEqualTo("*.mirror.example.com");
        assertThat(p.requirementsFor(Reference.parse("b.example.com/x:1")).scope()).isEqualTo("*.example.com");
        assertThat(p.requirementsFor(Reference.parse("example.com/x:1")).scope()).isEqualTo("");
        // a digest reference: its own scope, then the repository's
        Reference byDigest = Reference.parse("registry.example.com/team/app@sha256:" + "a".repeat(64));
        assertThat(SignaturePolicy.scopes(byDigest)).containsExactly(
                "registry.example.com/team/app@sha256:" + "a".repeat(64), "registry.example.com/team/app",
                "registry.example.com/team", "registry.example.com", "*.example.com", "*.com");
        assertThat(p.requirementsFor(byDigest).rejects()).isTrue();
        // the transport's default, then the global one; a docker.io short name is normalised first
        assertThat(p.requirementsFor(Reference.parse("busybox")).where()).isEqualTo("the docker transport's default");
        assertThat(SignaturePolicy.scopes(Reference.parse("busybox"))).startsWith("docker.io/library/busybox:latest",
                "docker.io/library/busybox", "docker.io/library", "docker.io", "*.io");
        SignaturePolicy noTransport = parse("{\"default\": [{\"type\": \"reject\"}]}");
        assertThat(noTransport.requirementsFor(Reference.parse("busybox")).where()).isEqualTo("the policy's default");
        assertThat(SignaturePolicy.scopes(Reference.parse("127.0.0.1:5000/a/b:1"))).containsExactly(
                "127.0.0.1:5000/a/b:1", "127.0.0.1:5000/a/b", "127.0.0.1:5000/a", "127.0.0.1:5000");
    }

    @Test
    void signedIdentityRules() {
        Reference tagged = Reference.parse("registry.example.com/app:1");
        Reference digested = Reference.parse("registry.example.com/app@sha256:" + "b".repeat(64));
        SignaturePolicy.SignedIdentity def = SignaturePolicy.SignedIdentity.DEFAULT;
        assertThat(def.matches(tagged, "registry.example.com/app:1")).isTrue();
        assertThat(def.matches(tagged, "registry.example.com/app:2")).isFalse();
        assertThat(def.matches(tagged, "registry.example.com/other:1")).isFalse();
        assertThat(def.matches(digested, "registry.example.com/app:anything")).isTrue(); // by digest: the repository
        assertThat(def.matches(digested, "registry.example.com/other:1")).isFalse();
        SignaturePolicy.SignedIdentity exact = new SignaturePolicy.SignedIdentity("matchExact", null, null, null, null);
        assertThat(exact.matches(digested, "registry.example.com/app:anything")).isFalse();
        assertThat(exact.matches(tagged, "registry.example.com/app:1")).isTrue();
        SignaturePolicy.SignedIdentity repo = new SignaturePolicy.SignedIdentity("matchRepository", null, null, null,
                null);
        assertThat(repo.matches(tagged, "registry.example.com/app:9")).isTrue();
        SignaturePolicy.SignedIdentity exactRef = new SignaturePolicy.SignedIdentity("exactReference",
                "quay.io/org/app:1", null, null, null);
        assertThat(exactRef.matches(tagged, "quay.io/org/app:1")).isTrue();
        assertThat(exactRef.matches(tagged, "registry.example.com/app:1")).isFalse();
        SignaturePolicy.SignedIdentity exactRepo = new SignaturePolicy.SignedIdentity("exactRepository", null,
                "quay.io/org/app", null, null);
        assertThat(exactRepo.matches(tagged, "quay.io/org/app:7")).isTrue();
        // remapIdentity: a mirror's images signed under the upstream's name
        SignaturePolicy.SignedIdentity remap = new SignaturePolicy.SignedIdentity("remapIdentity", null, null,
                "localhost:5000", "quay.io/org");
        assertThat(remap.matches(Reference.parse("localhost:5000/app:1"), "quay.io/org/app:1")).isTrue();
        assertThat(remap.matches(Reference.parse("localhost:5000/app:1"), "localhost:5000/app:1")).isFalse();
        assertThat(remap.matches(Reference.parse("localhost:50001/app:1"), "quay.io/org/app:1")).isFalse();
        assertThat(def.matches(tagged, "not a reference")).isFalse();
    }

    @Test
    void aPolicyHalfUnderstoodIsRefusedWithWhereAndWhy() {
        for (List<String> c : List.of(
                List.of("{}", "has no \"default\""),
                List.of("[]", "must be a JSON object"),
                List.of("{\"default\": []}", "default is an empty list"),
                List.of("{\"default\": [{\"type\": \"reject\"}], \"default\": []}", "is not valid JSON"),
                List.of("{\"default\": [{\"type\": \"accept\"}]}", "default[0] has an unknown type \"accept\""),
                List.of("{\"default\": [{\"type\": \"reject\", \"why\": 1}]}", "default[0].why is not a field"),
                List.of("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\"}]}", "exactly one of keyPath"),
                List.of("{\"default\": [{\"type\": \"signedBy\", \"keyType\": \"X509\", \"keyPath\": \"/k\"}]}",
                        "keyType \"X509\""),
                List.of("{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"/a\", \"keyData\": \"eA==\"}]}",
                        "exactly one of keyPath, keyPaths, keyData, keyDatas and fulcio"),
                List.of("{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPaths\": []}]}",
                        "keyPaths must be a non-empty list of strings"),
                List.of("{\"default\": [{\"type\": \"sigstoreSigned\", \"keyDatas\": [\"not base64!\"]}]}",
                        "keyDatas is not base64"),
                List.of("{\"default\": [{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \"/ca\","
                        + " \"oidcIssuer\": \"https://i\", \"subjectEmail\": \"a@b\"}}]}",
                        "with fulcio needs rekorPublicKeyPath or rekorPublicKeyData"),
                List.of("{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"/a\", \"signedIdentity\":"
                        + " {\"type\": \"exactReference\", \"dockerReference\": \"quay.io/a\"}}]}",
                        "needs a dockerReference with a tag or digest"),
                List.of("{\"default\": [{\"type\": \"reject\"}], \"extra\": 1}", "extra is not a field"),
                List.of("{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"\"}]}",
                        "keyPath must be a file name"))) {
            assertThatThrownBy(() -> parse(c.get(0))).as(c.get(0)).isInstanceOf(DavitException.class)
                    .hasMessageStartingWith("the signature policy policy.json")
                    .hasMessageContaining(c.get(1)).satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"))
                    .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
        }
        assertThat(parse("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {\"docker.io/library\":"
                + " [{\"type\": \"insecureAcceptAnything\"}]}}}").requirementsFor(Reference.parse("busybox"))
                .acceptsAnything()).isTrue();
        // a wildcard holds for a registry with a port, and a host's case does not escape its scope
        assertThat(SignaturePolicy.scopes(Reference.parse("reg.example.com:5000/x:1"))).contains("*.example.com");
        assertThat(SignaturePolicy.scopes(Reference.parse("Registry.Example.com/x:1"))).contains(
                "registry.example.com");
        // other transports' sections are read for their shape and never decide anything here
        assertThat(parse(POLICY).requirementsFor(Reference.parse("localhost:5000/x:1")).scope())
                .isEqualTo("localhost:5000/x");
    }

    @Test
    void whatContainersImageAcceptsIsAcceptedWithAWarning(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        // containers/image: any string is a docker scope (compared with an image's canonical scopes), and a key
        // path is read as given, relative to the working directory
        SignaturePolicy p = parse("""
                {"default": [{"type": "insecureAcceptAnything"}],
                 "transports": {"docker": {
                   "docker.io/busybox": [{"type": "reject"}],
                   "library/alpine": [{"type": "reject"}],
                   "Registry.Example.com": [{"type": "reject"}],
                   "quay.io/": [{"type": "reject"}],
                   "quay.io/team": [{"type": "sigstoreSigned", "keyPath": "keys/team.pub"}],
                   "*.example.com": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["/k/a.gpg", "b.gpg"]}]
                 }}}""");
        java.nio.file.Path cwd = java.nio.file.Path.of("").toAbsolutePath();
        assertThat(p.warnings()).containsExactlyInAnyOrder(
                "the signature policy policy.json: transports.docker[\"docker.io/busybox\"] is the namespace busybox of"
                        + " docker.io, not its official image docker.io/library/busybox: it matches only the images"
                        + " below it (docker.io/busybox/...), as for containers/image",
                "the signature policy policy.json: transports.docker[\"library/alpine\"] does not start with a"
                        + " registry in its canonical form (a lower-case host with a dot or a port, or localhost), e.g."
                        + " docker.io/library/busybox; it matches no image (containers/image accepts such a scope and"
                        + " never uses it)",
                "the signature policy policy.json: transports.docker[\"Registry.Example.com\"] does not start with a"
                        + " registry in its canonical form (a lower-case host with a dot or a port, or localhost), e.g."
                        + " docker.io/library/busybox; it matches no image (containers/image accepts such a scope and"
                        + " never uses it)",
                "the signature policy policy.json: transports.docker[\"quay.io/\"] is not a docker scope: a registry,"
                        + " a namespace, a repository, a reference or *.domain; it matches no image (containers/image"
                        + " accepts such a scope and never uses it)",
                "the signature policy policy.json: transports.docker[\"quay.io/team\"][0].keyPath \"keys/team.pub\" is"
                        + " relative: it is read from the working directory, as containers/image reads it ("
                        + cwd.resolve("keys/team.pub") + "); give an absolute file name",
                "the signature policy policy.json: transports.docker[\"*.example.com\"][0].keyPaths[1] \"b.gpg\" is"
                        + " relative: it is read from the working directory, as containers/image reads it ("
                        + cwd.resolve("b.gpg") + "); give an absolute file name");
        // the scopes decide as containers/image's would: never for the official images they seem to name
        assertThat(p.requirementsFor(Reference.parse("busybox")).acceptsAnything()).isTrue();
        assertThat(p.requirementsFor(Reference.parse("docker.io/busybox/tool:1")).rejects()).isTrue();
        assertThat(p.requirementsFor(Reference.parse("alpine")).acceptsAnything()).isTrue();
        assertThat(p.requirementsFor(Reference.parse("registry.example.com/x")).scope()).isEqualTo("*.example.com");
        assertThat(((SignaturePolicy.SigstoreSigned) p.requirementsFor(Reference.parse("quay.io/team/app:1"))
                .requirements().get(0)).keyPath()).isEqualTo(cwd.resolve("keys/team.pub"));
        assertThat(((SignaturePolicy.SignedBy) p.requirementsFor(Reference.parse("registry.example.com/x"))
                .requirements().get(0)).keyPaths()).containsExactly(java.nio.file.Path.of("/k/a.gpg"),
                cwd.resolve("b.gpg"));
        assertThat(parse(POLICY).warnings()).isEmpty();

        // a missing policy file says why it cannot be read
        java.nio.file.Path missing = tmp.resolve("missing.json");
        assertThatThrownBy(() -> SignaturePolicy.read(missing)).isInstanceOf(DavitException.class)
                .hasMessage("cannot read the signature policy " + missing + ": no such file");
    }
}
