package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The hot paths' fixed cost, counted rather than timed (a count does not drift with the machine's load): the classes a
 * fresh JVM loads ({@code -Xlog:class+load}) for {@code --version}, a one-shot {@code run IMAGE -- true} of a cached
 * image, a warm {@code pull} and a {@code workspace exec}, each held to the budget listed in {@link #BUDGETS}; and
 * none of them, under a system policy that accepts anything (as Debian's skopeo and podman install it, beside a
 * registries.d), loads Jackson's object mapper, the YAML parser or the signature verification classes (issue 51: a
 * policy that asks nothing costs nothing). The JVM runs as {@code ./davit} starts a quick command (serial GC, C1), on
 * the test's class path and without an AOT cache: {@code --version} is then {@link Main}'s, not the jar's
 * {@code Entry}'s shortcut.
 *
 * <p>A budget is the count measured when it was set plus ~2%: a change that loads more must say why in
 * docs/reference/BENCHMARKS.md and raise it here.
 */
class ClassBudgetTest extends BusyboxRegistryTest {
    /**
     * The most classes each command may load (measured with JDK 25 on the test's class path, plus ~2%: issue 55 took
     * the margins from ~5% to what its CI run measured, 897, 2,095, 2,038 and 2,043; then its start-up work, without
     * the host programs before davit-exec, the security providers and run-time lambdas, 897, 2,005, 2,039, 1,972).
     * Issue 70's sandbox agent took workspace exec to 2,108 here (1,961 to 2,056 with the release jars side by
     * side): the JDK's unix
     * socket channel (its Net and InetAddress set-up, and the SecureRandom its UnixDomainSockets holds for temporary
     * names), the agent's link and its shared timer, in place of ProcessBuilder's and CompletableFuture's.
     */
    static final Map<String, Integer> BUDGETS = Map.of(
            "--version", 915,
            "run", 2_045,
            "warm pull", 2_080,
            "workspace exec", 2_150);

    /** Classes (or packages, ending in '.') that a command under a policy accepting anything never loads. */
    static final List<String> NEVER = List.of(
            "com.fasterxml.jackson.databind.ObjectMapper",
            "com.fasterxml.jackson.databind.deser.",
            "com.fasterxml.jackson.databind.ser.",
            "com.fasterxml.jackson.dataformat.yaml.",
            "org.yaml.snakeyaml.",
            "org.bouncycastle.",
            "dev.davit.oci.policy.SimpleSigning",
            "dev.davit.oci.policy.SigstoreSignature",
            "dev.davit.oci.policy.SigstoreKeys",
            "dev.davit.oci.policy.FulcioCertificate",
            "dev.davit.oci.policy.RekorSet");

    @Test
    void hotPathsStayWithinTheirClassBudgetsAndAPolicyThatAsksNothingLoadsNoVerifier() throws IOException {
        // the system policy as Debian installs it: anything accepted, and a registries.d with a default entry
        Files.writeString(home.resolve("policy.json"), "{\"default\": [{\"type\": \"insecureAcceptAnything\"}],"
                + " \"transports\": {\"docker-daemon\": {\"\": [{\"type\": \"insecureAcceptAnything\"}]}}}");
        Files.createDirectories(home.resolve("registries.d"));
        Files.writeString(home.resolve("registries.d/default.yaml"), "docker:\n  example.com:\n"
                + "    lookaside: https://sigstore.example.com\ndefault-docker:\n"
                + "  lookaside-staging: file:///var/lib/containers/sigstore\n");
        Cli cli = new Cli(home);
        Cli.Result warm = cli.run("run", image, "--", "true"); // pulled and unpacked: cached from now on
        assertThat(warm.rc()).as(warm.toString()).isZero();
        Cli.Result ws = cli.run("workspace", "create", "-q", image);
        assertThat(ws.rc()).as(ws.toString()).isZero();
        String id = ws.stdout().strip();
        Map<String, List<String>> loaded = new TreeMap<>();
        try {
            loaded.put("--version", classes(cli, "--version"));
            loaded.put("run", classes(cli, "run", "-q", image, "--", "true"));
            loaded.put("warm pull", classes(cli, "pull", "-q", image));
            loaded.put("workspace exec", classes(cli, "workspace", "exec", id, "--", "true"));
        } finally {
            assertThat(cli.run("workspace", "rm", id).rc()).isZero();
        }
        for (Map.Entry<String, List<String>> e : loaded.entrySet()) {
            List<String> classes = e.getValue();
            System.out.println("ClassBudgetTest: " + e.getKey() + " loaded " + classes.size() + " classes (budget "
                    + BUDGETS.get(e.getKey()) + ")");
            assertThat(classes.size()).as("classes loaded by " + e.getKey()).isBetween(100, BUDGETS.get(e.getKey()));
            for (String never : NEVER) {
                assertThat(classes).as(e.getKey() + " under a policy that accepts anything")
                        .noneMatch(c -> never.endsWith(".") ? c.startsWith(never) : c.equals(never));
            }
        }
    }

    /** The classes a fresh JVM loads for {@code davit ARGS}, which must succeed. */
    private List<String> classes(Cli cli, String... args) throws IOException {
        Path log = Files.createTempFile(home, "classes", ".log");
        Cli.Result r = cli.runInJvm(List.of("-XX:+UseSerialGC", "-Xss512k", "-Xmn16m", "-XX:TieredStopAtLevel=1",
                "-Xlog:class+load=info:file=" + log), args);
        assertThat(r.rc()).as(String.join(" ", args) + ": " + r).isZero();
        // "[0.012s][info][class,load] java.lang.Object source: shared objects file"
        return Files.readAllLines(log).stream().filter(l -> l.contains("[class,load]"))
                .map(l -> l.substring(l.indexOf("[class,load] ") + 13).split(" ", 2)[0]).toList();
    }
}
