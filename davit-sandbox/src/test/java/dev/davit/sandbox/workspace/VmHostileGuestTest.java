package dev.davit.sandbox.workspace;

import static dev.davit.sandbox.vm.HostileTars.link;
import static dev.davit.sandbox.vm.HostileTars.tar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.davit.oci.DavitException;
import dev.davit.oci.ErrorAssert;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.VmTestEnvironment;
import dev.davit.sandbox.vm.HostileTars;
import dev.davit.sandbox.vm.VmImages;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attacker's test with a real microVM (QEMU, TCG here): root in the guest of a vm workspace replaces the guest
 * agent (it overwrites {@code /.davit/agent} on the VM's disk; the workspace's next start boots it as PID 1). The
 * replacement serves {@code run} honestly, so the test can pick the lie of the next call by writing a mode file,
 * and lies to {@code get} and {@code read}: tars with {@code ..}, absolute names and links to {@code /} or to a host
 * directory followed by entries below them; a 3 GB length followed by zeros without end; an endless line; a reply
 * trickled forever. Each call must fail within its deadline with one clear line, allocate next to nothing, write
 * nothing outside davit's own directories (a canary directory outside them stays as it was), and the workspace
 * must stay usable afterwards (a VM killed for lying is started again by the next file operation).
 *
 * <p>These are the guest agent's file verbs, which an environment built before davit-agent uses: the test turns
 * davit-agent off ({@code -Ddavit.agent.off=true}). davit-agent's file requests meet their liars in
 * {@code LinkFilesTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmHostileGuestTest {
    Path tmp;
    Path canary;
    Workspaces workspaces;
    Workspace w;

    @BeforeAll
    void create(@TempDir Path dir) throws IOException {
        System.setProperty("davit.agent.off", "true");
        tmp = dir;
        Path env = VmTestEnvironment.get();
        canary = Files.createDirectories(tmp.resolve("canary"));
        Files.writeString(canary.resolve("secret"), "untouched\n");
        workspaces = Workspaces.under(tmp.resolve("home"));
        Path seed = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(seed.resolve("README"), "hello\n");
        w = workspaces.create(WorkspaceSpec.builder(new CreateSpec(env, Map.of(), null, Network.NONE, null,
                Duration.ofHours(1), "vm", 1,
                256)).name("hostile").seed(seed).build());
    }

    @AfterAll
    void cleanUp() {
        System.clearProperty("davit.vm.fileTimeoutSeconds");
        System.clearProperty("davit.agent.off");
        if (workspaces != null) {
            for (Workspace x : workspaces.list()) {
                workspaces.rm(x.id());
            }
            assertThat(workspaces.sandboxes().list()).isEmpty();
        }
    }

    private String sh(String script) {
        if (workspaces.sandbox(w.id()).status() != SandboxStatus.RUNNING) {
            workspaces.start(w.id()); // killed for its last lie
        }
        ExecResult r = workspaces.execs().run(w.id(), List.of("sh", "-c", script), Map.of(), null,
                Duration.ofSeconds(60),
                null, null, null);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    private void write(String path, byte[] data) {
        workspaces.files().write(w.id(), path, new ByteArrayInputStream(data));
    }

    /** The real agent, with get and read answering as /hostile/mode says (else as before). */
    static String hostileAgent() {
        String agent = new String(VmImages.resource("agent.sh"), StandardCharsets.UTF_8);
        String lies = """
                # what root in the guest made of the agent: get and read lie as /hostile/mode says
                h_get() {
                    m=$(cat /hostile/mode 2>/dev/null)
                    if [ -n "$m" ] && [ -f "/hostile/$m.tar" ]; then
                        n=$(stat -c %s "/hostile/$m.tar")
                        reply "data $2 $n $n"
                        cat "/hostile/$m.tar" >&3
                    elif [ "$m" = trickle ]; then
                        reply "data $2 100000 100000"
                        while :; do printf x >&3; sleep 0.2; done
                    else
                        v_get "$@"
                    fi
                }

                h_read() {
                    case $(cat /hostile/mode 2>/dev/null) in
                    huge) reply "data $2 3000000000 3000000000"; cat /dev/zero >&3 ;;
                    endless) printf 'data %s ' "$2" >&3; yes 7 | tr -d '\\n' >&3 ;;
                    *) v_read "$@" ;;
                    esac
                }

                handle() {""";
        assertThat(agent).contains("\nhandle() {", "    get) v_get \"$@\" ;;", "    read) v_read \"$@\" ;;");
        return agent.replace("\nhandle() {", "\n" + lies)
                .replace("    get) v_get \"$@\" ;;", "    get) h_get \"$@\" ;;")
                .replace("    read) v_read \"$@\" ;;", "    read) h_read \"$@\" ;;");
    }

    /** A set-uid file of six bytes (the extraction must not keep the bit). */
    static TarArchiveEntry file(String name) {
        return HostileTars.file(name, 6, 04755);
    }

    static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /** Runs a call the liar must make fail: returns the error, after checking time, memory and the canary. */
    private DavitException lie(String mode, long maxMs, org.assertj.core.api.ThrowableAssert.ThrowingCallable call)
            throws IOException {
        sh("echo " + mode + " > /hostile/mode");
        long a0 = allocated();
        long t0 = System.nanoTime();
        Throwable t = catchThrowable(call);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long bytes = allocated() - a0;
        System.out.println("hostile " + mode + ": " + ms + " ms, " + (bytes >> 20) + " MiB allocated: "
                + (t == null ? "no error" : t.getMessage()));
        assertThat(t).as(mode).isInstanceOf(DavitException.class);
        ErrorAssert.assertOneLine(t.getMessage());
        assertThat(ms).as(mode + ": ms").isLessThan(maxMs);
        assertThat(bytes).as(mode + ": bytes allocated").isLessThan(64L << 20);
        assertCanaryUntouched();
        assertNoLeftovers();
        return (DavitException) t;
    }

    private void assertCanaryUntouched() throws IOException {
        try (Stream<Path> s = Files.walk(canary)) {
            assertThat(s.map(p -> canary.relativize(p).toString())).containsExactlyInAnyOrder("", "secret");
        }
        assertThat(Files.readString(canary.resolve("secret"))).isEqualTo("untouched\n");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("canary", "home", "seed");
        }
    }

    /** No temp directory of a view is left in the workspace's state. */
    private void assertNoLeftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("home/workspaces").resolve(w.id()))) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".view-"));
        }
    }

    @Test
    @Order(1)
    void rootInTheGuestReplacesTheAgent() throws IOException {
        String c = canary.toString();
        write("hostile/agent", hostileAgent().getBytes(StandardCharsets.UTF_8));
        write("hostile/dotdot.tar", tar(file("./ok"), file("./" + "../".repeat(40) + c.substring(1) + "/pwned")));
        write("hostile/absolute.tar", tar(file("./ok"), file(c + "/pwned")));
        write("hostile/root.tar", tar(link("./root", "/"), file("./root" + c + "/pwned")));
        write("hostile/canary.tar", tar(link("./c", c), file("./c/pwned"), file("./c/secret")));
        sh("mkdir -p /hostile && cp -a /workspace/hostile/. /hostile/ && rm -rf /workspace/hostile"
                + " && cp /hostile/agent /.davit/agent && sync");
        workspaces.stop(w.id());
        workspaces.start(w.id()); // boots the replaced agent as PID 1
        assertThat(sh("cat /proc/1/cmdline | tr '\\0' ' '; grep -c h_get /.davit/agent")).contains("/.davit/agent")
                .endsWith("2\n");
        assertThat(workspaces.files().diff(w.id()).changes()).isEmpty(); // no lie yet
    }

    @Test
    @Order(2)
    void hostileTarsAreRefusedAndNothingLandsOutside() throws IOException {
        lie("dotdot", 30_000, () -> workspaces.files().diff(w.id()));
        lie("absolute", 30_000, () -> workspaces.snapshot(w.id(), "s1"));
        assertThat(workspaces.snapshots(w.id())).isEmpty();
        DavitException e = lie("root", 30_000, () -> workspaces.files().diff(w.id()));
        assertThat(e.getMessage()).contains("'root' is a symbolic link", "sent", "broken or hostile");
        Path out = tmp.resolve("home/export");
        lie("canary", 30_000, () -> workspaces.files().export(w.id(), out, null));
        assertThat(out).doesNotExist();
    }

    @Test
    @Order(3)
    void aHugeLengthFailsAtOnceWithoutAllocating() throws IOException {
        DavitException e = lie("huge", 15_000, () -> workspaces.files().read(w.id(), "README", 0));
        assertThat(e.getMessage()).contains("3000000000 bytes", "broke the protocol", "was killed");
        assertThat(workspaces.sandbox(w.id()).status()).isEqualTo(SandboxStatus.FAILED);
        e = lie("endless", 30_000, () -> workspaces.files().read(w.id(), "README", 100));
        assertThat(e.getMessage()).contains("longer than 4194304 bytes", "broke the protocol");
    }

    @Test
    @Order(4)
    void aTrickledReplyIsCutOffAtTheDeadline() throws IOException {
        System.setProperty("davit.vm.fileTimeoutSeconds", "8");
        try {
            DavitException e = lie("trickle", 20_000, () -> workspaces.files().diff(w.id()));
            assertThat(e.getMessage()).contains("did not archive /workspace within 8 s", "killed");
        } finally {
            System.clearProperty("davit.vm.fileTimeoutSeconds");
        }
    }

    @Test
    @Order(5)
    void theWorkspaceStaysUsable() throws IOException {
        sh("echo honest > /hostile/mode; echo changed > README");
        assertThat(new String(workspaces.files().read(w.id(), "README", 0).bytes(), StandardCharsets.UTF_8))
                .isEqualTo("changed\n");
        assertThat(workspaces.files().diff(w.id()).changes()).hasSize(1);
        assertCanaryUntouched();
        assertNoLeftovers();
    }
}
