package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceLabels;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.internal.WorkspaceInternals;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Workspace names (unique across the creates and renames of a davit home, threads and processes alike), labels,
 * {@code update} and published ports, over real bwrap sandboxes and a busybox root filesystem.
 */
class WorkspaceNamesTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("httpd");
    }

    private CreateSpec spec() {
        return CreateSpec.builder(rootfs).ttl(Duration.ofHours(1)).limits(Limits.NONE).build();
    }

    private Workspace create(String name, Map<String, String> labels) {
        return workspaces.create(WorkspaceSpec.builder(spec()).name(name).labels(labels).build());
    }

    private Path state() {
        return home.resolve("workspaces");
    }

    /** The entries of the state directory (workspaces, claims, leftovers), the lock file aside. */
    private List<String> stateEntries() throws IOException {
        try (Stream<Path> s = Files.list(state())) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals(".lock")).sorted().toList();
        }
    }

    private List<String> sandboxDirs() throws IOException {
        Path d = home.resolve("sandboxes");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("sbx-")).toList();
        }
    }

    /** Runs {@code n} calls of {@code call} at once (released together); returns each one's result or error. */
    private static List<Object> atOnce(int n, java.util.function.IntFunction<Object> call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Object>> calls = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                calls.add(pool.submit(() -> {
                    go.await();
                    try {
                        return call.apply(k);
                    } catch (DavitException e) {
                        return e;
                    }
                }));
            }
            go.countDown();
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : calls) {
                out.add(f.get(5, TimeUnit.MINUTES));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void ofConcurrentCreatesWithOneNameExactlyOneWins() throws Exception {
        List<Object> results = atOnce(4, k -> create("dup", Map.of("k", "v" + k)));
        List<Workspace> won = results.stream().filter(Workspace.class::isInstance).map(Workspace.class::cast)
                .toList();
        assertThat(won).as(results.toString()).hasSize(1);
        for (Object r : results) {
            if (r instanceof DavitException e) {
                assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
                assertThat(e.getMessage()).doesNotContain("\n").contains("the name dup is taken by workspace ws-")
                        .contains("give another name, or delete ws-");
            }
        }
        assertThat(workspaces.list()).extracting(Workspace::name).containsExactly("dup");
        assertThat(workspaces.get("dup")).isEqualTo(won.get(0));
        // the losers left nothing: no claim, no temp directory, no sandbox
        assertThat(stateEntries()).containsExactly(won.get(0).id());
        assertThat(sandboxDirs()).containsExactly(won.get(0).sandboxId());
    }

    @Test
    void rmByNameRemovesTheOneOfThatNameAndDuplicatesOfOldAreRefusedNotGuessed() throws IOException {
        Workspace a = create("alpha", null);
        Workspace b = create("beta", null);
        workspaces.rm("beta");
        assertThat(workspaces.list()).containsExactly(a);
        assertThat(sandboxDirs()).containsExactly(a.sandboxId());

        // two workspaces of one name, as a davit before unique names could make them: neither is taken for it
        Workspace c = create("gamma", null);
        Path f = state().resolve(c.id()).resolve("workspace.json");
        Files.writeString(f, Files.readString(f).replace("\"gamma\"", "\"alpha\""));
        DavitException ambiguous = catchThrowableOfType(DavitException.class, () -> workspaces.rm("alpha"));
        assertThat(ambiguous.kind()).isEqualTo(DavitException.Kind.USAGE);
        assertThat(ambiguous.getMessage()).contains("several workspaces are named alpha", a.id(), c.id(),
                "give an id");
        assertThat(workspaces.list()).hasSize(2);
        // renaming one (by id) settles it
        workspaces.update(c.id(), Workspaces.Change.builder().name("gamma").build());
        workspaces.rm("alpha");
        assertThat(workspaces.list()).extracting(Workspace::id).containsExactly(c.id());
        assertThat(workspaces.get("gamma").id()).isEqualTo(c.id());
    }

    @Test
    void badNamesAndLabelsAreRefusedBeforeAnythingIsMade() throws IOException {
        for (String bad : List.of("", "ws-1", "ws-0123456789ab", ".hidden", "-x", "a/b", "a b", "..", "x".repeat(65),
                "tab\tname", "é")) {
            DavitException e = catchThrowableOfType(DavitException.class, () -> create(bad, null));
            assertThat(e).as(bad).isNotNull();
            assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
            assertThat(e.getMessage()).doesNotContain("\n", "\t").contains("bad workspace name");
        }
        create("x".repeat(64), null);
        for (Map<String, String> bad : List.of(Map.of("", "v"), Map.of("k", "a b"), Map.of("/k", "v"),
                Map.of("k", "v\n"), Map.of("k".repeat(64), "v"), Map.of("k", "v".repeat(129)))) {
            assertThatThrownBy(() -> create("n", bad)).as(bad.toString()).isInstanceOf(DavitException.class)
                    .hasMessageNotContaining("\n").hasMessageContaining("label");
        }
        Map<String, String> many = new java.util.HashMap<>();
        for (int i = 0; i <= WorkspaceLabels.MAX_LABELS; i++) {
            many.put("k" + i, "v");
        }
        assertThatThrownBy(() -> create("n", many)).hasMessageContaining("at most 32");
        assertThat(workspaces.list()).hasSize(1);
        assertThat(sandboxDirs()).hasSize(1);
    }

    @Test
    void labelsAreKeptAndFilterTheList() {
        Workspace a = create("a", Map.of("task", "42", "team/owner", "ci@example.org"));
        Workspace b = create(null, Map.of("task", "43"));
        Workspace c = create(null, Map.of());
        Workspaces later = Workspaces.under(home); // a later davit reads them back
        assertThat(later.get(a.id()).labels()).isEqualTo(Map.of("task", "42", "team/owner", "ci@example.org"));
        assertThat(later.get(c.id()).labels()).isEmpty();
        JsonNode json = WorkspaceJson.workspace(a);
        assertThat(json.at("/labels/task").asText()).isEqualTo("42");
        java.util.function.Function<Map<String, String>, List<String>> with = filter -> later.list().stream()
                .filter(w -> WorkspaceLabels.matches(w.labels(), filter)).map(Workspace::id).toList();
        assertThat(with.apply(Map.of("task", "42"))).containsExactly(a.id());
        java.util.Map<String, String> anyTask = new java.util.HashMap<>();
        anyTask.put("task", null);
        assertThat(with.apply(anyTask)).containsExactly(a.id(), b.id());
        assertThat(with.apply(Map.of("task", "42", "team/owner", "nobody"))).isEmpty();
        assertThat(with.apply(Map.of())).containsExactly(a.id(), b.id(), c.id());
    }

    @Test
    void updateRenamesKeepsNamesUniqueAndChangesLabelsAndTtl() throws Exception {
        Workspace a = create("a", Map.of("keep", "1", "drop", "2"));
        Workspace b = create("b", null);
        Workspace renamed = workspaces.update("a", Workspaces.Change.builder().name("first")
                .labels(Map.of("new", "3")).removeLabels(List.of("drop", "absent")).build());
        assertThat(renamed.name()).isEqualTo("first");
        assertThat(renamed.labels()).isEqualTo(Map.of("keep", "1", "new", "3"));
        assertThat(Workspaces.under(home).get("first")).isEqualTo(renamed);
        assertThatThrownBy(() -> workspaces.get("a")).isInstanceOf(DavitException.class)
                .hasMessageContaining("no workspace a");
        // a taken name is refused and nothing changes
        assertThatThrownBy(() -> workspaces.update("first", Workspaces.Change.builder().name("b")
                .labels(Map.of("x", "y")).build())).isInstanceOf(DavitException.class)
                .hasMessageContaining("the name b is taken by"
                        + " workspace " + b.id());
        assertThat(workspaces.get(a.id())).isEqualTo(renamed);
        // its own name is no conflict; --no-name frees the name for another
        workspaces.update("b", Workspaces.Change.builder().name("b").build());
        workspaces.update("b", Workspaces.Change.builder().noName(true).build());
        assertThat(workspaces.get(b.id()).name()).isNull();
        workspaces.update(a.id(), Workspaces.Change.builder().name("b").build());
        assertThat(workspaces.get("b").id()).isEqualTo(a.id());

        // two renames to one free name at once: exactly one wins
        List<Object> results = atOnce(2, k -> workspaces.update(k == 0 ? a.id() : b.id(),
                Workspaces.Change.builder().name("same").build()));
        assertThat(results.stream().filter(Workspace.class::isInstance).count()).as(results.toString()).isEqualTo(1);
        assertThat(workspaces.list().stream().filter(w -> "same".equals(w.name())).count()).isEqualTo(1);

        // the ttl counts from creation: one already past makes the next reap remove it
        Workspace never = workspaces.update(a.id(), Workspaces.Change.builder().noTtl(true).build());
        assertThat(never.ttl()).isNull();
        assertThat(WorkspaceJson.workspace(workspaces.get(a.id())).get("ttl_seconds").isNull()).isTrue();
        workspaces.update(b.id(), Workspaces.Change.builder().ttl(Duration.ofMillis(1)).build());
        assertThat(workspaces.reap()).extracting(Workspaces.Reaped::id).containsExactly(b.id());
        assertThat(workspaces.list()).extracting(Workspace::id).containsExactly(a.id());
        assertThatThrownBy(() -> workspaces.update(b.id(), Workspaces.Change.builder().noName(true).build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("no workspace");
        // the state file is whole and readable after every rewrite, with no temp file left
        try (Stream<Path> s = Files.list(state().resolve(a.id()))) {
            assertThat(s.map(p -> p.getFileName().toString())).allMatch(n -> !n.startsWith(".") || n.equals(".lock"));
        }
    }

    @Test
    void theAdmissionCheckSeesCreatesInProgressAndRefusesWithNothingMade() throws Exception {
        // as an operator's limit of two: four creates at once, each admitted while fewer than two exist or are
        // being made
        List<Object> results = atOnce(4, k -> workspaces.create(WorkspaceSpec.builder(spec())
                .admit(n -> { if (n >= 2) { throw new DavitException(DavitException.Kind.USAGE, "full: " + n); } })
                .build()));
        assertThat(results.stream().filter(Workspace.class::isInstance).count()).as(results.toString()).isEqualTo(2);
        assertThat(results.stream().filter(DavitException.class::isInstance).map(r -> ((DavitException) r)
                .getMessage())).allMatch(m -> m.equals("full: 2"));
        assertThat(workspaces.list()).hasSize(2);
        assertThat(sandboxDirs()).hasSize(2);
        assertThat(stateEntries()).hasSize(2);
    }

    /**
     * A claim held by another process (a create in progress there) keeps its name; once that process is gone the
     * claim is stale: the name is free and its leftover is removed.
     */
    @Test
    void aClaimOfAnotherProcessHoldsTheNameUntilThatProcessDies() throws Exception {
        Tools.assumeAvailable("python3");
        Path claimDir = Files.createDirectories(state().resolve(".ws-00000000dead.tmp"));
        Path claim = Files.writeString(claimDir.resolve("claim"), "held");
        Process holder = new ProcessBuilder("python3", "-c", "import fcntl, sys, time\n"
                + "f = open(sys.argv[1], 'r+')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\n"
                + "time.sleep(120)\n", claim.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                    StandardCharsets.UTF_8));
            assertThat(r.readLine()).isEqualTo("locked");
            assertThatThrownBy(() -> create("held", null)).isInstanceOf(DavitException.class)
                    .hasMessageContaining("the name held is taken by workspace ws-00000000dead, being created");
            // the claim counts for an admission check too
            workspaces.create(WorkspaceSpec.builder(spec()).name("other").admit(n -> assertThat(n).isEqualTo(1))
                    .build());
        } finally {
            holder.destroyForcibly().waitFor();
        }
        Workspace w = create("held", null);
        assertThat(w.name()).isEqualTo("held");
        assertThat(claimDir).doesNotExist();
        // and a leftover of an older davit (a temp directory without a claim) is left alone
        Path old = Files.createDirectories(state().resolve(".ws-0000000000aa.tmp"));
        create("third", null);
        assertThat(old).exists();
    }

    /**
     * A create whose davit died after making its sandbox (its claim stale, the sandbox recorded in it): the name is
     * free at once, but the claim stays until a reap of its owner's (not another owner's), which removes the sandbox
     * with it and says so.
     */
    @Test
    void aReapRemovesTheSandboxOfACreateWhoseDavitDied() throws Exception {
        Sandbox orphan = workspaces.sandboxes().create(spec());
        Path claimDir = Files.createDirectories(state().resolve(".ws-00000000beef.tmp"));
        Files.writeString(claimDir.resolve("claim"), "half");
        Files.writeString(claimDir.resolve("sandbox"), orphan.id() + "\nagent-1");
        assertThat(create("half", null).name()).isEqualTo("half"); // nobody holds the claim: the name is free
        assertThat(claimDir).exists();
        assertThat(WorkspaceInternals.ownedBy(workspaces, "agent-2").reap(w -> w.ownedBy("agent-2"))).isEmpty();
        assertThat(claimDir).exists();
        assertThat(workspaces.sandboxes().status(orphan.id()).id()).isEqualTo(orphan.id());
        assertThat(WorkspaceInternals.ownedBy(workspaces, "agent-1").reap(w -> w.ownedBy("agent-1"))).containsExactly(
                new Workspaces.Reaped("ws-00000000beef", "half", orphan.id(), "create interrupted"));
        assertThat(claimDir).doesNotExist();
        assertThatThrownBy(() -> workspaces.sandboxes().status(orphan.id())).isInstanceOf(DavitException.class)
                .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.NOT_FOUND);
        assertThat(workspaces.list()).extracting(Workspace::name).containsExactly("half");
        assertThat(workspaces.reap()).isEmpty();
    }

    @Test
    void aPublishedPortReachesAServiceFromTheHostsLoopback() throws Exception {
        Tools.assumeAvailable("slirp4netns");
        int hostPort;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            hostPort = free.getLocalPort();
        }
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).network(Network.NAT)
                .publish(List.of(PortMapping.parse(hostPort + ":8080"))).limits(Limits.NONE)
                .build()).name("web").build());
        JsonNode ports = WorkspaceJson.workspace(w, workspaces.sandbox(w.id()), false).get("ports");
        assertThat(ports).hasSize(1);
        assertThat(ports.get(0).get("container_port").asInt()).isEqualTo(8080);
        assertThat(ports.get(0).get("host_address").asText()).isEqualTo("127.0.0.1");
        assertThat(ports.get(0).get("host_port").asInt()).isEqualTo(hostPort);
        assertThat(ports.get(0).get("address").asText()).isEqualTo("127.0.0.1:" + hostPort);

        workspaces.files().write(w.id(), "www/index.html", new java.io.ByteArrayInputStream("served\n".getBytes()));
        workspaces.services(w.id()).start("web", List.of("httpd", "-f", "-p", "8080", "-h", "/workspace/www"),
                Map.of(), new Services.Readiness("port", "8080"), Duration.ofSeconds(30));
        String[] hostPortOf = ports.get(0).get("address").asText().split(":");
        try (Socket c = new Socket(hostPortOf[0], Integer.parseInt(hostPortOf[1]))) {
            c.setSoTimeout(10_000);
            c.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(reply).startsWith("HTTP/1.").contains("served");
        }
        // only on the loopback address it was published on: not on the host's other addresses
        for (InetAddress other : nonLoopbackAddresses()) {
            try (Socket c = new Socket()) {
                c.connect(new java.net.InetSocketAddress(other, hostPort), 2000);
                throw new AssertionError("the published port answers on " + other);
            } catch (IOException expected) {
                // refused
            }
        }
        workspaces.rm("web");
        try (Socket c = new Socket()) {
            c.connect(new java.net.InetSocketAddress("127.0.0.1", hostPort), 2000);
            throw new AssertionError("the published port outlived its workspace");
        } catch (IOException expected) {
            // refused: nothing listens any more
        }
    }

    private static List<InetAddress> nonLoopbackAddresses() throws IOException {
        List<InetAddress> out = new ArrayList<>();
        for (var ni : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : java.util.Collections.list(ni.getInetAddresses())) {
                if (a instanceof java.net.Inet4Address && !a.isLoopbackAddress()) {
                    out.add(a);
                }
            }
        }
        return out;
    }

    @Test
    void aMicroVmWorkspaceRefusesPublishBeforeAnythingIsMade() throws IOException {
        CreateSpec vm = CreateSpec.builder(rootfs).network(Network.NAT).backend("vm")
                .publish(List.of(PortMapping.parse("18080:8080"))).build();
        assertThatThrownBy(() -> workspaces.create(WorkspaceSpec.builder(vm).name("v").build()))
                .isInstanceOf(DavitException.class)
                .hasMessageContaining("CreateSpec.Builder.publish is not available for microVM workspaces");
        assertThat(sandboxDirs()).isEmpty();
        assertThat(workspaces.list()).isEmpty();
    }

    @Test
    void anOwnerIsRecordedAndADoorFindsOnlyWhatItMaySee() throws IOException {
        Workspace op = create("op", Map.of());
        Workspace m = WorkspaceInternals.ownedBy(workspaces, "mcp").create(WorkspaceSpec.builder(spec()).name("m").build());
        assertThat(op.owner()).isNull();
        assertThat(m.owner()).isEqualTo("mcp");
        assertThat(workspaces.get("m").owner()).isEqualTo("mcp");
        assertThat(workspaces.update("m", Workspaces.Change.builder().name("m2").labels(Map.of())
                .removeLabels(List.of()).build())
                .owner()).as("update keeps the owner").isEqualTo("mcp");
        java.util.function.Predicate<Workspace> mine = w -> w.ownedBy("mcp");
        assertThat(workspaces.get("m2", mine).id()).isEqualTo(m.id());
        String missing = catchThrowableOfType(DavitException.class, () -> workspaces.get("nosuch", mine))
                .getMessage();
        for (String ref : List.of(op.id(), "op")) {
            DavitException e = catchThrowableOfType(DavitException.class, () -> workspaces.get(ref, mine));
            assertThat(e.kind()).isEqualTo(DavitException.Kind.NOT_FOUND);
            assertThat(e.getMessage().replace(ref, "REF")).isEqualTo(missing.replace("nosuch", "REF"));
        }
        assertThat(m.ownedBy("mcp")).isTrue();
        assertThat(new Workspace("ws-1", null, "s", java.time.Instant.now(), null, null, 0, 0, Map.of(), List.of(),
                "mcp:abc").ownedBy("mcp")).isTrue();
        assertThat(new Workspace("ws-1", null, "s", java.time.Instant.now(), null, null, 0, 0, Map.of(), List.of(),
                "mcp2").ownedBy("mcp")).isFalse();
        assertThat(op.ownedBy(null)).isTrue();
        // a state file of a davit before owners: the operator's
        Path f = state().resolve(op.id()).resolve("workspace.json");
        com.fasterxml.jackson.databind.node.ObjectNode old = (com.fasterxml.jackson.databind.node.ObjectNode)
                dev.davit.oci.internal.Json.read(Files.readAllBytes(f));
        assertThat(old.has("owner")).isTrue();
        old.remove("owner");
        Files.write(f, dev.davit.oci.internal.Json.bytes(old));
        assertThat(workspaces.get(op.id()).owner()).isNull();
        assertThatThrownBy(() -> WorkspaceInternals.ownedBy(workspaces, "two words")).isInstanceOf(DavitException.class)
                .hasMessageContaining("WorkspaceInternals.ownedBy");
    }
}
