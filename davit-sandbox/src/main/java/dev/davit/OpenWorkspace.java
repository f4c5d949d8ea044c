package dev.davit;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Args;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.workspace.ExecEntry;
import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.ServiceSpec;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.WorkspaceImages;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One workspace, and everything done with it: commands ({@link #exec}), the kept output of a long one
 * ({@link #output}), its files ({@link #files}: read, write, host copies in and out, a stopped workspace's disk,
 * changes: diff, edit, patch), snapshots and reset ({@link #snapshot}, {@link #reset}), services
 * ({@link #services}) and shells ({@link #openShell}), its name, labels and ttl ({@link #update}), its state ({@link #status}, {@link #stop},
 * {@link #start}), exec history ({@link #logs}), published ports ({@link #ports}) and secrets ({@link #secrets}).
 * Each call acts on the workspace by its id through {@link Workspaces}, which keeps the same operations by id for
 * tools.
 *
 * <p>A handle comes from {@link Davit#workspace} (a new workspace: closing the handle removes it unless it was
 * {@link #keep kept}) or {@link Davit#openWorkspace} (an existing one, e.g. kept earlier or made by the CLI:
 * closing the handle leaves it, unless {@link #remove} is called). {@link #remove} removes the workspace now,
 * whichever way the handle came. A closed handle refuses every call on the workspace (its {@link #id} and
 * {@link #workspace} still answer).
 *
 * <p>A handle is thread-safe: several threads may exec, read and write through it at once (commands run side by
 * side; a file write is atomic, so a reader sees the old content or the new). {@link #close} removes a workspace the
 * handle created under any call still running in it: close a handle when its threads are done with it.
 *
 * <pre>{@code
 * try (OpenWorkspace ws = davit.workspace("docker.io/library/busybox:1.36")) {
 *     ws.files().write("notes.txt", "draft\n");
 *     ws.snapshot("draft");
 *     ws.exec("sh", "-c", "echo final > notes.txt");
 *     System.out.println(ws.files().diff("draft", List.of(), false).patch()); // since the snapshot
 *     ws.reset("draft");                                    // back to it
 *     try (OpenShell sh = ws.openShell()) {
 *         sh.write("echo hi\n");
 *         System.out.println(sh.read(Duration.ofSeconds(5)));
 *     }
 * }
 * }</pre>
 */
public final class OpenWorkspace implements AutoCloseable {
    private final Workspaces all;
    private final Davit davit; // null: a door's handle ({@link #of}), which no Davit tracks
    private final Workspace created;
    private volatile boolean kept;
    private volatile boolean closed;
    private final OpenFiles files = new OpenFiles(this);

    /**
     * A handle of workspace {@code w} of {@code davit}; {@code kept}: one the handle did not create (its close leaves
     * it).
     */
    OpenWorkspace(Davit davit, Workspace w, boolean kept) {
        this(davit.workspaces(), davit, w, kept);
    }

    private OpenWorkspace(Workspaces all, Davit davit, Workspace w, boolean kept) {
        this.all = all;
        this.davit = davit;
        this.created = w;
        this.kept = kept;
    }

    /**
     * {@return the workspace's files: read, write, list, push, export, a stopped disk's, diff, edit, patch}
     */
    public OpenFiles files() {
        return files;
    }

    /**
     * A handle of workspace {@code w}, acting through {@code workspaces}: for a door over {@link Workspaces} of its
     * own (e.g. an MCP server's, its owner's) that found {@code w} its own way (e.g.
     * {@link Workspaces#get(String, java.util.function.Predicate)} among the workspaces it may see), through
     * {@code dev.davit.internal.Handles}. Closing the handle leaves the workspace; {@link #remove} removes it. A
     * library user has {@link Davit#openWorkspace}.
     *
     * @param workspaces the workspaces {@code w} is one of, not null
     * @param w          the workspace, as {@link Workspaces#get} returned it; not null
     * @return a handle of it
     */
    static OpenWorkspace of(Workspaces workspaces, Workspace w) {
        Args.given(workspaces, "OpenWorkspace.of", "workspaces", "give the Workspaces the workspace is one of");
        Args.given(w, "OpenWorkspace.of", "w", "give a workspace from Workspaces.get");
        return new OpenWorkspace(workspaces, null, w, true);
    }

    /**
     * The workspace's id: what {@code davit workspace} commands, {@link Davit#openWorkspace} and {@link Workspaces}
     * take.
     *
     * @return the id; it stays valid after this handle closes if the workspace was kept
     */
    public String id() {
        return created.id();
    }

    /**
     * The workspace as it was when this handle was made (for its current name, labels and ttl, see {@link #info}).
     *
     * @return the workspace's record when the handle was made
     */
    public Workspace workspace() {
        return created;
    }

    /**
     * The workspace as it is recorded now: its name, labels, ttl, seed and secrets' names.
     *
     * @return the current record
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public Workspace info() {
        return workspaces().get(id());
    }

    /**
     * Runs {@code command} in /workspace, for at most {@link Davit#DEFAULT_TIMEOUT}. A command that fails is no
     * exception: see the result's exit code.
     *
     * @param command the argv, not empty (e.g. {@code "sh", "-c", "make test"})
     * @return the command's exit code and captured output
     * @throws DavitException USAGE for an empty command or a closed handle; STATE when the workspace is not running
     *                        (stopped elsewhere, or its sandbox is gone); NOT_FOUND when it was removed
     */
    public ExecResult exec(String... command) {
        Args.given(command, "OpenWorkspace.exec", "command", "give the argv, e.g. \"sh\", \"-c\", \"make test\"");
        return exec(ExecRequest.builder(List.of(command)).timeout(Davit.DEFAULT_TIMEOUT).build());
    }

    /**
     * Runs request {@code r} (working directory, secrets as variables, input, tees: see {@link ExecRequest}).
     *
     * @param r what to run and how, from {@link ExecRequest#builder}
     * @return the command's exit code and captured output (secret values redacted)
     * @throws DavitException as {@link #exec(String...)} does
     */
    public ExecResult exec(ExecRequest r) {
        Args.given(r, "OpenWorkspace.exec", "r", "give ExecRequest.builder(\"sh\", \"-c\", \"...\").build()");
        return workspaces().execs().run(id(), r);
    }

    /**
     * Up to {@code limit} bytes of the kept output of exec {@code execId} from {@code offset}: what an
     * {@link WorkspaceExecs.Executed} excerpt left out, read page by page (kept for the newest execs whose output was
     * cut).
     *
     * @param execId the exec's id, from {@link WorkspaceExecs.Executed#execId} or {@link #logs}
     * @param stream {@code stdout} or {@code stderr} (null: stdout); a detached exec's: {@code output} (or null)
     * @param offset where to start, in bytes from the stream's start; 0 or more
     * @param limit  the most bytes to return; 1 or more
     * @return the page, and how many bytes are kept in all
     * @throws DavitException USAGE for a malformed exec id or stream, an offset or limit out of range, or a closed
     *                        handle; NOT_FOUND when no output of that exec is kept (or the workspace was removed)
     */
    public ExecOutput.Page output(String execId, String stream, long offset, int limit) {
        return workspaces().execs().output(id(), execId, stream, offset, limit);
    }

    /**
     * Starts {@code r} detached: see {@link WorkspaceExecs#start}.
     *
     * @param r what to run (no stdin, no tees)
     * @return the exec, running
     * @throws DavitException as {@link WorkspaceExecs#start} does; USAGE for a closed handle
     */
    public dev.davit.sandbox.workspace.DetachedExec execDetached(ExecRequest r) {
        return workspaces().execs().start(id(), r);
    }

    /**
     * Waits up to {@code wait} for detached exec {@code execId}: see {@link WorkspaceExecs#await}.
     *
     * @param execId the exec's id
     * @param wait   how long to wait at most; null: look once
     * @return the exec as it is then
     * @throws DavitException as {@link WorkspaceExecs#await} does; USAGE for a closed handle
     */
    public dev.davit.sandbox.workspace.DetachedExec execWait(String execId, Duration wait) {
        return workspaces().execs().await(id(), execId, wait);
    }

    /**
     * Stops detached exec {@code execId}: see {@link WorkspaceExecs#kill}.
     *
     * @param execId the exec's id
     * @return the exec as it is then
     * @throws DavitException as {@link WorkspaceExecs#kill} does; USAGE for a closed handle
     */
    public dev.davit.sandbox.workspace.DetachedExec execKill(String execId) {
        return workspaces().execs().kill(id(), execId);
    }

    /**
     * Whether {@code execId} names a detached exec: see {@link WorkspaceExecs#isDetached}.
     *
     * @param execId an exec's id
     * @return whether it is a detached exec's
     * @throws DavitException USAGE for a closed handle
     */
    public boolean isDetached(String execId) {
        return workspaces().execs().isDetached(id(), execId);
    }

    /**
     * The detached execs: see {@link WorkspaceExecs#list}.
     *
     * @return them, oldest first
     * @throws DavitException as {@link WorkspaceExecs#list} does; USAGE for a closed handle
     */
    public List<dev.davit.sandbox.workspace.DetachedExec> execs() {
        return workspaces().execs().list(id());
    }

    /**
     * Copies /workspace's current tree into snapshot {@code name}, to
     * {@link OpenFiles#diff(String, java.util.List, boolean) compare} with or {@link #reset(String) go back} to later.
     *
     * @param name up to 64 letters, digits, {@code .}, {@code _} or {@code -}, not starting with {@code .}; not taken
     *             in this workspace
     * @return the snapshot taken
     * @throws DavitException USAGE for a bad or taken name, too many snapshots, or a closed handle; NOT_FOUND when
     *                        the workspace was removed; STORE when it cannot be written
     */
    public Workspaces.Snapshot snapshot(String name) {
        return workspaces().snapshot(id(), name);
    }

    /**
     * {@link #snapshot(String)}; with {@code all}, of the sandbox's whole writable state too (/etc, installed
     * packages, /tmp; a microVM's disk), which {@link #reset(String)} to it brings back; see
     * {@link Workspaces#snapshot(String, String, boolean)}.
     *
     * @param name the snapshot's name
     * @param all  whether to save the sandbox's whole writable state too
     * @return the snapshot taken
     * @throws DavitException as {@link #snapshot(String)}; USAGE for a running container without a disk of its own
     *                        with {@code all}
     */
    public Workspaces.Snapshot snapshot(String name, boolean all) {
        return workspaces().snapshot(id(), name, all);
    }

    /**
     * New workspaces, each with a copy of everything this one holds (its sandbox's whole writable state, baseline,
     * snapshots, secrets, policy, labels), independent from then on; see {@link Workspaces#fork}. This workspace goes
     * on as it was.
     *
     * <pre>{@code
     * List<Workspace> tries = w.fork(3, List.of());   // three ways to fix it, side by side
     * }</pre>
     *
     * @param count how many, 1 to 16; 0: one per name (one when no names)
     * @param names their names, one per fork, or empty
     * @return the forks, kept (open one with {@link Davit#openWorkspace})
     * @throws DavitException as {@link Workspaces#fork}; USAGE for a closed handle
     */
    public List<Workspace> fork(int count, List<String> names) {
        return workspaces().fork(id(), count, names, null);
    }

    /**
     * Makes snapshot {@code snapshot} an OCI artifact named {@code reference} and pushes it, with the environment it
     * runs on, to that registry (see {@link WorkspaceImages#pushSnapshot}); another machine makes a workspace of it
     * with {@link Davit#newWorkspaceFrom}. With {@code local}, it is only stored (to export in a bundle).
     *
     * @param snapshot  the snapshot's name
     * @param reference the artifact's name, with a tag
     * @param local     only store it
     * @return what was made and pushed
     * @throws DavitException as {@link WorkspaceImages#pushSnapshot}; USAGE for a closed handle, or one of a door's (no store)
     */
    public WorkspaceImages.SnapshotPush pushSnapshot(String snapshot, String reference, boolean local) {
        return images(workspaces(), "push from").pushSnapshot(id(), snapshot, reference, local);
    }

    /**
     * {@link #pushSnapshot} into a bundle instead of a registry, for a machine no registry reaches (see
     * {@link WorkspaceImages#exportSnapshot}): the snapshot's artifact and its environment, stored and written to
     * {@code bundle}. On the other machine, {@link Images#importBundle} of it and then {@link Davit#newWorkspaceFrom}
     * of {@code reference} make the workspace again, with no network.
     *
     * @param snapshot  the snapshot's name
     * @param reference the artifact's name, with a tag
     * @param bundle    the bundle file to write (it must not exist; {@code .tar}, {@code .tar.gz}, {@code .tar.zst})
     * @return what was made (not pushed)
     * @throws DavitException as {@link WorkspaceImages#exportSnapshot}; USAGE for a closed handle, or one of a door's
     *                        (no store)
     */
    public WorkspaceImages.SnapshotPush exportSnapshot(String snapshot, String reference, Path bundle) {
        WorkspaceImages images = images(workspaces(), "export from");
        Args.given(bundle, "OpenWorkspace.exportSnapshot", "bundle", "give the bundle file to write");
        return images.exportSnapshot(id(), snapshot, reference, bundle);
    }

    /**
     * Commits this workspace to image {@code reference} in its {@link Davit}'s store: the environment's image with one
     * more layer of what the workspace changed (see {@link WorkspaceImages#commit}); {@link Davit#workspace} then runs
     * it, and {@code davit push} (or {@code options.push()}) publishes it.
     *
     * <pre>{@code
     * ws.exec("sh", "-c", "apk add git");
     * ws.commit("localhost/team/env:with-git", WorkspaceImages.CommitOptions.defaults());
     * }</pre>
     *
     * @param reference the image's name, with a tag
     * @param options   its time, and whether to push it
     * @return what was made
     * @throws DavitException as {@link WorkspaceImages#commit}; USAGE for a closed handle, or one of
     *                        a door's (which has no store)
     */
    public WorkspaceImages.Commit commit(String reference, WorkspaceImages.CommitOptions options) {
        return images(workspaces(), "commit to").commit(id(), reference,
                options == null ? WorkspaceImages.CommitOptions.defaults() : options);
    }

    /** The images of {@code w} in the {@link Davit}'s store; a USAGE error for a door's handle, which has none. */
    private WorkspaceImages images(Workspaces w, String doing) {
        if (davit == null) {
            throw new DavitException(DavitException.Kind.USAGE, dev.davit.oci.Message.of("this handle has no store to "
                    + doing + "; open the workspace through ", dev.davit.oci.Action.OPEN_DAVIT.fix()));
        }
        return dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(w, davit.client(), davit.progress());
    }

    /**
     * Pauses the workspace's processes with their state ({@link Workspaces#pause}): a container's frozen in place,
     * a microVM's memory saved beside its disk and its QEMU ended.
     *
     * @return its sandbox, paused
     * @throws DavitException as {@link Workspaces#pause}; USAGE for a closed handle
     */
    public Sandbox pause() {
        return workspaces().pause(id());
    }

    /**
     * Resumes the paused workspace ({@link Workspaces#resume}): its processes go on where they were.
     *
     * @return its sandbox, running
     * @throws DavitException as {@link Workspaces#resume}; USAGE for a closed handle
     */
    public Sandbox resume() {
        return workspaces().resume(id());
    }

    /**
     * The workspace's snapshots, oldest first.
     *
     * @return its snapshots; empty when it has none
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public List<Workspaces.Snapshot> snapshots() {
        return workspaces().snapshots(id());
    }

    /**
     * Removes snapshot {@code name}.
     *
     * @param name the snapshot's name
     * @throws DavitException NOT_FOUND when there is no such snapshot (or the workspace was removed); USAGE for a
     *                        malformed name or a closed handle
     */
    public void removeSnapshot(String name) {
        workspaces().removeSnapshot(id(), name);
    }

    /**
     * Restores /workspace to its baseline (what it was created with), byte for byte and mode for mode; its services
     * and shells end, and the workspace is running again afterwards if it was running.
     *
     * @return the workspace's sandbox after the reset
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed; STORE when the
     *                        tree cannot be replaced
     */
    public Sandbox reset() {
        return workspaces().reset(id(), null);
    }

    /**
     * Restores /workspace to snapshot {@code snapshot}, as {@link #reset()} does to the baseline.
     *
     * @param snapshot the snapshot to restore, not null
     * @return the workspace's sandbox after the reset
     * @throws DavitException NOT_FOUND when there is no such snapshot (or the workspace was removed); USAGE for a
     *                        malformed name or a closed handle; STORE when the tree cannot be replaced
     */
    public Sandbox reset(String snapshot) {
        Args.given(snapshot, "OpenWorkspace.reset", "snapshot", "call reset() for the baseline");
        return workspaces().reset(id(), snapshot);
    }

    /**
     * The workspace's services: processes that run on in the background (a server, a watcher), each started with a
     * {@link ServiceSpec} under a name of the caller's, and listed, read ({@link Services#log}) and stopped by that
     * name.
     *
     * <pre>{@code
     * Services.Service web = ws.services().start(ServiceSpec.builder("web", "httpd", "-f", "-p", "8000")
     *         .readiness(new Services.Readiness("port", "8000")).build());   // returns once it listens
     * System.out.println(new String(ws.services().log("web", 20).bytes()));
     * ws.services().stop("web");
     * }</pre>
     *
     * @return its services
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public Services services() {
        return workspaces().services(id());
    }

    /**
     * The workspace's shells, by id (for shells opened elsewhere, e.g. by the CLI); {@link #openShell} gives a
     * handle of a new one.
     *
     * @return its shells
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public Shells shells() {
        return workspaces().shells(id());
    }

    /**
     * Opens {@code /bin/sh} on a terminal in /workspace, returning at once.
     *
     * @return the shell's handle; close it to end the shell
     * @throws DavitException STATE when the most shells are open already; USAGE for a closed handle
     */
    public OpenShell openShell() {
        return openShell(List.of(), Map.of(), Map.of());
    }

    /**
     * Opens {@code argv} on a terminal in /workspace, with {@code TERM=xterm}, {@code env} and {@code secretEnv} (a
     * variable to the name of one of the workspace's secrets) on top of the sandbox's environment.
     *
     * @param argv      the program to run; empty: {@code /bin/sh}
     * @param env       variables, not null (empty for none)
     * @param secretEnv variable to secret name, not null (empty for none); the shell's reads show every secret
     *                  value redacted
     * @return the shell's handle; close it to end the shell
     * @throws DavitException USAGE for an unknown secret, a variable set twice or a closed handle; STATE when the
     *                        most shells are open already
     */
    public OpenShell openShell(List<String> argv, Map<String, String> env, Map<String, String> secretEnv) {
        Args.given(argv, "OpenWorkspace.openShell", "argv", "give List.of() for /bin/sh");
        Args.given(env, "OpenWorkspace.openShell", "env", "give Map.of() for no variables");
        Args.given(secretEnv, "OpenWorkspace.openShell", "secretEnv", "give Map.of() for no secrets");
        return new OpenShell(this, shells().open(argv, env, secretEnv).id());
    }

    /**
     * Renames the workspace, changes its labels or its ttl (see {@link Workspaces.Change}).
     *
     * @param change what to change
     * @return the workspace as recorded now
     * @throws DavitException USAGE when the new name is taken or the handle is closed; NOT_FOUND when the workspace
     *                        was removed
     */
    public Workspace update(Workspaces.Change change) {
        Args.given(change, "OpenWorkspace.update", "change", "give new Workspaces.Change(...)");
        return workspaces().update(id(), change);
    }

    /**
     * Names the workspace {@code name}, to find it by later ({@link Davit#openWorkspace}).
     *
     * @param name the new name: free in this davit home; null: no name
     * @return the workspace as recorded now
     * @throws DavitException as {@link #update} does; USAGE for a bad name
     */
    public Workspace rename(String name) {
        return update(Workspaces.Change.builder().name(name).noName(name == null).build());
    }

    /**
     * Sets labels {@code set} (added or replaced) and removes those keyed {@code remove} (a missing one is no error).
     *
     * @param set    labels to set, not null
     * @param remove keys of labels to remove, not null
     * @return the workspace as recorded now
     * @throws DavitException as {@link #update} does; USAGE for a bad label or key
     */
    public Workspace label(Map<String, String> set, List<String> remove) {
        Args.given(set, "OpenWorkspace.label", "set", "give Map.of() to set none");
        Args.given(remove, "OpenWorkspace.label", "remove", "give List.of() to remove none");
        return update(Workspaces.Change.builder().labels(set).removeLabels(remove).build());
    }

    /**
     * Gives the workspace ttl {@code ttl}, counted from its creation (null: it never expires).
     *
     * @param ttl how long after its creation the workspace may be removed; positive, or null for never
     * @return the workspace as recorded now
     * @throws DavitException as {@link #update} does; USAGE for a ttl that is zero or negative
     */
    public Workspace ttl(Duration ttl) {
        return update(Workspaces.Change.builder().ttl(ttl).noTtl(ttl == null).build());
    }

    /**
     * The workspace's sandbox as it is now: {@link Sandbox#status()} running, stopped or failed, its backend and
     * spec.
     *
     * @return its sandbox
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace or its sandbox is gone
     */
    public Sandbox status() {
        return workspaces().sandbox(id());
    }

    /**
     * Changes the workspace's own variables ({@link Workspaces#env}): every later exec, service and shell gets them.
     *
     * @param set    variables to set; null: none
     * @param remove names to remove; null: none
     * @return its sandbox, with its new variables
     * @throws DavitException as {@link Workspaces#env}; USAGE for a closed handle
     */
    public Sandbox env(Map<String, String> set, List<String> remove) {
        return workspaces().env(id(), set, remove);
    }

    /**
     * Whether the workspace is paused ({@link #pause}): its status as every door says it is then {@code paused}.
     *
     * @return true when it is
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace or its sandbox is gone
     */
    public boolean paused() {
        return workspaces().paused(id());
    }

    /**
     * Stops the workspace: its services and shells end, and every process in it is killed; /workspace, its baseline
     * and snapshots stay. {@link #start} brings it back.
     *
     * @return its sandbox, stopped
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public Sandbox stop() {
        return workspaces().stop(id());
    }

    /**
     * Starts the workspace (a running one stays as it is); /workspace holds what it held when it stopped.
     *
     * @return its sandbox, running
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed; any kind from
     *                        starting the sandbox
     */
    public Sandbox start() {
        return workspaces().start(id());
    }

    /**
     * Changes the workspace's egress policy with {@code change} (see {@link Workspaces#network}): a running
     * workspace's new names and connections follow it at once, without a restart.
     *
     * @param change the entries to remove, then those to add
     * @return the workspace as recorded (its policy: {@link #status()}'s network)
     * @throws DavitException USAGE for a closed handle, a workspace without an egress policy, an invalid entry or an
     *                        unknown preset; NOT_FOUND when the workspace was removed
     */
    public Workspace network(EgressPolicy.Change change) {
        Args.given(change, "OpenWorkspace.network", "change", "give new EgressPolicy.Change(...)");
        return workspaces().network(id(), change);
    }

    /**
     * What the workspace's egress gate refused, oldest first (see {@link Workspaces#egressDenials}); an exec's own
     * are in its result ({@link WorkspaceExecs.Executed#networkDenied}).
     *
     * @return the denials; empty for a workspace without an egress policy
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace or its sandbox is gone
     */
    public List<EgressDenial> egressDenials() {
        return workspaces().egressDenials(id());
    }

    /**
     * The exec history, oldest first: per exec its command, working directory, start, duration, exit code, id and
     * the first and last 2 KiB of each output stream.
     *
     * @return one entry per exec (redacted in a workspace with secrets); empty when none ran
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public List<ExecEntry> logs() {
        return workspaces().execs().logs(id());
    }

    /**
     * The ports the workspace publishes on the host (given at its creation, see {@link Davit#newWorkspace}): each a
     * host address and port that reach a port in the workspace, the host port as chosen when 0 was asked for.
     *
     * @return its published ports; empty when none
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace or its sandbox is gone
     */
    public List<PortMapping> ports() {
        return status().spec().publish();
    }

    /**
     * The names and sizes of the workspace's secrets (never their values): what {@link ExecRequest.Builder#secretEnv},
     * {@link ServiceSpec.Builder#secretEnv} and {@link #openShell} may name.
     *
     * @return its secrets; empty when none
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public List<Workspace.SecretInfo> secrets() {
        return info().secrets();
    }

    /**
     * Keeps the workspace when this handle (or its {@link Davit}) closes; its ttl, if any, still applies. A handle of
     * {@link Davit#openWorkspace} keeps its workspace already.
     *
     * @return this handle
     */
    public OpenWorkspace keep() {
        kept = true;
        return this;
    }

    /**
     * Removes the workspace now (its sandbox, processes and state: baseline, snapshots, history, secrets), kept or
     * not, and closes this handle.
     *
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when it was removed already (elsewhere); STORE when
     *                        its state cannot be removed
     */
    public void remove() {
        Workspaces all = workspaces();
        kept = true; // removed below, not by the close
        close();
        all.rm(id());
    }

    Workspaces workspaces() {
        if (closed) {
            throw new DavitException(Kind.USAGE, "this handle of workspace " + id() + " is closed; open another with"
                    + " Davit.openWorkspace(\"" + id() + "\") if it was kept, else Davit.workspace(...)");
        }
        return all;
    }

    /**
     * Closes this handle; removes the workspace if the handle created it and did not {@link #keep} it (a handle of
     * {@link Davit#openWorkspace} leaves it); idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (davit != null) {
            davit.forget(this);
        }
        if (!kept) {
            try {
                all.rm(id());
            } catch (DavitException e) {
                if (e.kind() != Kind.NOT_FOUND) {
                    throw e;
                }
            }
        }
    }
}
