package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.Sandboxes;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import dev.davit.sandbox.internal.HostFiles;
import dev.davit.sandbox.internal.SandboxMachinery;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The secrets of a workspace: named values given at its creation, kept on the host in
 * {@code <workspace state>/secrets/values.json} (directory 0700, file 0600, written atomically; never in
 * {@code workspace.json}, which holds only their names and sizes), put into the running sandbox as
 * {@code /run/secrets/NAME} on a tmpfs of its own (directory 0700, files 0600, owned by the sandbox's user: never
 * in the sandbox's layer or /workspace, so no diff, snapshot or export carries them; written again at each start),
 * mapped to environment variables of an exec, service or shell on request ({@link #command}) and redacted from
 * what davit shows of them ({@link #redactor}). Immutable. See docs/WORKSPACES.md, Secrets.
 */
public final class Secrets {
    /** Where the sandbox has them. */
    public static final String IN_SANDBOX = Sandboxes.PRIVATE_TMPFS;
    /** The largest value: 64 KiB. */
    public static final int MAX_VALUE = 64 << 10;
    /**
     * The least bytes of a value: a shorter one is no secret worth the name and, as each of its matches becomes a
     * marker of up to 75 bytes, would let output grow manyfold when redacted.
     */
    public static final int MIN_VALUE = 8;
    /** The most all values of a workspace may hold together: 256 KiB. */
    public static final int MAX_TOTAL = 256 << 10;
    /** The most secrets a workspace may have. */
    public static final int MAX_COUNT = 64;
    /** No secrets. */
    public static final Secrets NONE = new Secrets(Map.of());
    static final String DIR = "secrets";
    static final String FILE = "values.json";
    /** How errors name the variables set from secrets: the {@code secretEnv} parameter of exec, service and shell. */
    static final Input SECRET_ENV = Input.SECRET_ENV;
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");
    /**
     * Runs {@code ARGV} with each {@code VAR NAME} pair's variable set to the content of /run/secrets/NAME, exactly
     * (a last line without a line end included), in the sandbox's own shell: no value is ever on a command line or in
     * the environment of a process on the host. {@code read} is a shell builtin: no other tool is needed.
     */
    private static final String ENV_SCRIPT = "while [ \"$1\" != -- ]; do f=" + IN_SANDBOX + "/$2;"
            + " if [ ! -r \"$f\" ]; then echo \"davit: secret $2 is not in " + IN_SANDBOX + "; restart the"
            + " workspace\" >&2; exit 125; fi;"
            + " v=; l=; while IFS= read -r l; do v=\"$v$l\n\"; done <\"$f\"; export \"$1=$v$l\"; shift 2; done;"
            + " shift; exec \"$@\"";

    private final Map<String, byte[]> values;

    private Secrets(Map<String, byte[]> values) {
        this.values = values;
    }

    /**
     * Secrets of {@code values} (name to value), checked: names as environment variable names (letters, digits,
     * {@code _}, not starting with a digit, at most 64), each value {@link #MIN_VALUE} bytes to {@link #MAX_VALUE},
     * all together at most {@link #MAX_TOTAL}, at most {@link #MAX_COUNT} of them. Errors name {@code Secrets.of}.
     *
     * @param values secret name to value, in the order to keep (the values are copied)
     * @return the checked secrets; empty (as {@link #NONE}) for an empty map
     * @throws DavitException {@link Kind#USAGE} when a name is malformed or a value is missing, too short or too long,
     *                        or there are too many or too many bytes
     */
    public static Secrets of(Map<String, byte[]> values) {
        Input flag = Input.SECRET;
        if (values.size() > MAX_COUNT) {
            throw new DavitException(Kind.USAGE, "too many secrets (" + values.size() + "); give at most " + MAX_COUNT);
        }
        long total = 0;
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : values.entrySet()) {
            check(e.getKey(), flag);
            byte[] v = e.getValue();
            if (v == null || v.length == 0) {
                throw new DavitException(Kind.USAGE, Message.of("secret " + e.getKey() + " is empty; give it a value (",
                        flag, ")").about(Subject.Type.SECRET, e.getKey()));
            }
            if (v.length < MIN_VALUE) {
                throw new DavitException(Kind.USAGE, Message.of("secret " + e.getKey() + " holds " + v.length
                        + " bytes, fewer than " + MIN_VALUE + "; give a longer value (", flag, ")")
                        .about(Subject.Type.SECRET, e.getKey()));
            }
            if (v.length > MAX_VALUE) {
                throw new DavitException(Kind.USAGE, Message.of("secret " + e.getKey() + " holds " + v.length
                        + " bytes, more than " + (MAX_VALUE >> 10) + " KiB; give a smaller value (", flag, ")")
                        .about(Subject.Type.SECRET, e.getKey()));
            }
            total += v.length;
            m.put(e.getKey(), v.clone());
        }
        if (total > MAX_TOTAL) {
            throw new DavitException(Kind.USAGE, Message.of("the secrets hold " + total + " bytes together, more"
                    + " than " + (MAX_TOTAL >> 10) + " KiB; give fewer or smaller ones (", flag, ")"));
        }
        return new Secrets(Collections.unmodifiableMap(m));
    }

    /**
     * Checks a secret's (or an environment variable's) name; {@code flag} says in the error where it came from.
     *
     * @param name the name: 1 to 64 letters, digits or {@code _}, not starting with a digit
     * @param flag where the name came from, named in the error message (a method, e.g. {@code Secrets.of}, or a
     *             caller's own option)
     * @throws DavitException {@link Kind#USAGE} when {@code name} is null or malformed
     */
    public static void checkName(String name, String flag) {
        check(name, flag);
    }

    /** {@link #checkName}, {@code flag} an {@link Input} or a caller's own text. */
    private static void check(String name, Object flag) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new DavitException(Kind.USAGE, Message.of("bad secret name '" + name + "' (", flag, "); use up to"
                    + " 64 letters, digits or '_', not starting with a digit, as an environment variable's name")
                    .value(name));
        }
    }

    /**
     * Whether there are no secrets.
     *
     * @return true for {@link #NONE} and any other empty set
     */
    public boolean isEmpty() {
        return values.isEmpty();
    }

    /**
     * The names, in the order given.
     *
     * @return an unmodifiable list of the secrets' names
     */
    public List<String> names() {
        return List.copyOf(values.keySet());
    }

    /**
     * What the workspace's state and JSON show of them: each secret's name and size, no value.
     *
     * @return an unmodifiable list, one entry per secret, in the order given
     */
    public List<Workspace.SecretInfo> metadata() {
        return values.entrySet().stream().map(e -> new Workspace.SecretInfo(e.getKey(), e.getValue().length))
                .toList();
    }

    /** The redactor of these values: a new {@link Redactor} that replaces each value with {@code [REDACTED:NAME]}. */
    Redactor redactor() {
        return Redactor.of(values);
    }

    /** Writes the values into {@code workspaceDir/secrets/values.json} (see the class comment). */
    void save(Path workspaceDir) throws IOException {
        if (isEmpty()) {
            return;
        }
        Path dir = workspaceDir.resolve(DIR);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                    "rwx------")));
        }
        ObjectNode o = Json.object();
        values.forEach((n, v) -> o.put(n, Base64.getEncoder().encodeToString(v)));
        Fs.writeAtomically(dir.resolve(FILE), Json.bytes(o), dir); // its temp file is 0600 from the start
    }

    /** The secrets saved in {@code workspaceDir} (none when there are none). */
    static Secrets load(Path workspaceDir) {
        Path f = workspaceDir.resolve(DIR).resolve(FILE);
        JsonNode o;
        try {
            o = Json.read(Files.readAllBytes(f));
        } catch (NoSuchFileException e) {
            return NONE;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the workspace's secrets in " + f + ": "
                    + e.getMessage());
        }
        Map<String, byte[]> m = new LinkedHashMap<>();
        o.fields().forEachRemaining(e -> m.put(e.getKey(), Base64.getDecoder().decode(e.getValue().asText())));
        return new Secrets(Collections.unmodifiableMap(m));
    }

    /**
     * Puts the values into running container sandbox {@code sandboxId} as /run/secrets/NAME (see the class comment):
     * the directory made 0700 and the sandbox user's through the host's view of it (a {@link Dir} of that very
     * tmpfs), each file written by an exec in the sandbox, as its user, from standard input. Refused when
     * /run/secrets is not a tmpfs of the sandbox's own (a sandbox its keeper started before davit made one: a restart
     * makes it). A microVM's: see {@link #materialiseInGuest}. {@code workspaceDir}: the workspace's state directory,
     * where the values are saved. Its errors are redacted (what a sandbox answers may hold a value).
     */
    void materialise(Sandboxes sandboxes, String sandboxId, String workspace, Path workspaceDir) {
        if (isEmpty()) {
            return;
        }
        try {
            materialiseUnredacted(sandboxes, sandboxId, workspace, workspaceDir);
        } catch (DavitException e) { // what the sandbox answers (an agent's error, a console's tail) may hold a value
            throw SecretUse.redacted(e, redactor());
        }
    }

    private void materialiseUnredacted(Sandboxes sandboxes, String sandboxId, String workspace, Path workspaceDir) {
        Sandbox s = sandboxes.status(sandboxId);
        if (s.status() != SandboxStatus.RUNNING) {
            return; // written at its next start
        }
        if (s.spec().isVm()) {
            materialiseInGuest(sandboxes, sandboxId, workspace, workspaceDir);
            return;
        }
        long device = tmpfs(s, workspace);
        int[] owner = sandboxes.hostOwner(sandboxId);
        // the tmpfs is a mount of its own: reached in the sandbox's root (links resolved there, never out of it)
        // and checked to be that very mount, which the sandbox can neither move nor replace
        try (Dir top = HostFiles.open(sandboxes, sandboxId); Dir d = top.inRoot(IN_SANDBOX)) {
            Stat self = d.stat("");
            if (self == null || self.dev() != device || !self.isDirectory()) {
                throw new DavitException(Kind.USAGE, Message.of("workspace " + workspace + "'s " + IN_SANDBOX
                        + " is not its own tmpfs; restart it with ", Action.RESTART_WORKSPACE.fix())
                        .about(Subject.Type.WORKSPACE, workspace));
            }
            d.chmod("", 0700);
            if (owner != null) {
                // the directory itself, through davit's own descriptor of it (never a path the sandbox controls)
                Path self2 = d.self();
                Files.setAttribute(self2, "unix:gid", owner[1]);
                Files.setAttribute(self2, "unix:uid", owner[0]);
            }
        } catch (UnsupportedOperationException e) {
            throw new DavitException(Kind.USAGE, "secrets are not supported yet for a rootless workspace whose"
                    + " image User is not root; create it as root, or with an image whose User is root");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare " + IN_SANDBOX + " of workspace " + workspace
                    + ": " + e.getMessage());
        }
        // the files are written by the sandbox's own user, in the sandbox: the tmpfs belongs to the sandbox's user
        // namespace, where the host's users have no id to create files with; the value goes through the exec's
        // standard input, never a command line or an environment
        for (Map.Entry<String, byte[]> e : values.entrySet()) {
            dev.davit.sandbox.ExecResult r = sandboxes.exec(sandboxId, List.of("/bin/sh", "-c", PUT_SCRIPT,
                    "davit-secret-put", e.getKey()), Map.of(), "/", java.time.Duration.ofSeconds(30),
                    new java.io.ByteArrayInputStream(e.getValue()), null, null);
            if (r.exitCode() != 0) {
                throw new DavitException(Kind.USAGE, "cannot put secret " + e.getKey() + " into " + IN_SANDBOX
                        + " of workspace " + workspace + " (exit code " + r.exitCode() + ": "
                        + redactor().redact(r.stderrText().strip()) + "); the image needs /bin/sh, cat and mv");
            }
        }
    }

    /**
     * A shell function {@code t}: runs a tool of the guest's image, or the same of davit's static busybox in the
     * guest (an image may lack mount, grep, chmod or chown).
     */
    private static final String GUEST_TOOLS = "t() { if command -v \"$1\" >/dev/null 2>&1; then \"$@\"; else"
            + " /.davit/busybox \"$@\"; fi; }; ";

    /**
     * Mounts a tmpfs of its own on the guest's /run/secrets (unless one is there: a restart of the guest's processes
     * keeps it), 0700 and the exec user's: the values never reach the VM's disk, so no diff, snapshot, export or disk
     * inspection carries them.
     */
    private static final String GUEST_TMPFS_SCRIPT = GUEST_TOOLS + "d=" + IN_SANDBOX + "; t mkdir -p \"$d\" || exit 1;"
            + " if ! t grep -qs \" $d tmpfs \" /proc/mounts; then t mount -t tmpfs -o mode=0700,size=1m,nosuid,nodev"
            + " davit-secrets \"$d\" || exit 1; fi; t chmod 0700 \"$d\" && t chown \"$(t id -u):$(t id -g)\" \"$d\"";

    /**
     * {@link #materialise} in a microVM: the tmpfs made by an exec in the guest ({@link #GUEST_TMPFS_SCRIPT}), the
     * files put by its agent from a tar the host writes beside the saved values (0600 in their 0700 directory) and
     * deletes at once, then made 0600 and the exec user's. What the guest does with them is the guest's:
     * it runs the workspace's code, which may read them anyway.
     */
    private void materialiseInGuest(Sandboxes sandboxes, String sandboxId, String workspace, Path workspaceDir) {
        guestExec(sandboxes, sandboxId, workspace, List.of("/bin/sh", "-c", GUEST_TMPFS_SCRIPT));
        Path tar = null;
        try {
            tar = Files.createTempFile(workspaceDir.resolve(DIR), ".put-", ".tar",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(
                    Files.newOutputStream(tar))) {
                for (Map.Entry<String, byte[]> e : values.entrySet()) {
                    var entry = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(e.getKey());
                    entry.setMode(0100600);
                    entry.setSize(e.getValue().length);
                    out.putArchiveEntry(entry);
                    out.write(e.getValue());
                    out.closeArchiveEntry();
                }
            }
            SandboxMachinery.guestFiles(sandboxes, sandboxId).putTar(IN_SANDBOX, tar);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot put the secrets of workspace " + workspace + " into its"
                    + " microVM: " + e.getMessage());
        } finally {
            if (tar != null) {
                try {
                    Files.deleteIfExists(tar);
                } catch (IOException ignored) {
                    // 0600 in the temp directory; nothing more to do
                }
            }
        }
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", GUEST_TOOLS + "cd " + IN_SANDBOX
                + " && t chmod 0600 \"$@\" && t chown \"$(t id -u):$(t id -g)\" \"$@\"", "davit-secret-own"));
        argv.addAll(values.keySet());
        guestExec(sandboxes, sandboxId, workspace, argv);
    }

    private void guestExec(Sandboxes sandboxes, String sandboxId, String workspace, List<String> argv) {
        dev.davit.sandbox.ExecResult r = sandboxes.exec(sandboxId, argv, Map.of(), "/",
                java.time.Duration.ofSeconds(30));
        if (r.exitCode() != 0) {
            throw new DavitException(Kind.USAGE, "cannot prepare " + IN_SANDBOX + " of workspace " + workspace
                    + " in its microVM (exit code " + r.exitCode() + ": " + redactor().redact(r.stderrText().strip())
                    + "); the guest needs /bin/sh, and its exec user must be root");
        }
    }

    /** Writes its standard input to /run/secrets/$1 (0600, the exec's user's), through a temp file and a rename. */
    private static final String PUT_SCRIPT = "umask 077; t=" + IN_SANDBOX + "/.davit-put.$$;"
            + " if cat >\"$t\" && mv -f \"$t\" \"" + IN_SANDBOX + "/$1\"; then exit 0; fi; rm -f \"$t\"; exit 1";

    /** Whether every value is in /run/secrets of running sandbox {@code sandboxId} (as a regular file). */
    boolean present(Sandboxes sandboxes, String sandboxId) {
        if (sandboxes.status(sandboxId).spec().isVm()) { // one look through the agent: they go in together
            try {
                SandboxMachinery.guestFiles(sandboxes, sandboxId).read(IN_SANDBOX + "/" + values.keySet().iterator().next(), 1);
                return true;
            } catch (DavitException e) {
                return false;
            }
        }
        try (Dir top = HostFiles.open(sandboxes, sandboxId); Dir d = top.inRoot(IN_SANDBOX)) {
            for (String n : values.keySet()) {
                Stat st = d.stat(n);
                if (st == null || !st.isRegularFile()) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The device of the tmpfs mounted on /run/secrets in sandbox {@code s}'s mount namespace (as {@link Stat#dev});
     * refused when there is none (a sandbox its keeper started before davit made one: a restart makes it).
     */
    private static long tmpfs(Sandbox s, String workspace) {
        Path info = Path.of("/proc", Long.toString(s.initPid()), "mountinfo");
        try {
            long found = -1;
            for (String line : Files.readAllLines(info, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                int dash = line.indexOf(" - ");
                if (f.length > 4 && f[4].equals(IN_SANDBOX) && dash > 0) {
                    String[] mm = f[2].split(":");
                    // the last mount on it is the one seen
                    found = line.substring(dash + 3).startsWith("tmpfs ")
                            ? (Long.parseLong(mm[0]) << 32) | Long.parseLong(mm[1]) : -1;
                }
            }
            if (found >= 0) {
                return found;
            }
        } catch (IOException | NumberFormatException e) {
            throw new DavitException(Kind.USAGE, "workspace " + workspace + " stopped while davit put its secrets;"
                    + " start it again");
        }
        throw new DavitException(Kind.USAGE, Message.of("workspace " + workspace + "'s sandbox has no tmpfs on "
                + IN_SANDBOX + " for its secrets (an older davit started it); restart it with ",
                Action.RESTART_WORKSPACE.fix()).about(Subject.Type.WORKSPACE, workspace));
    }

    /**
     * {@code argv} run with {@code secretEnv} (variable to secret name) set from /run/secrets, through the
     * sandbox's {@code /bin/sh} ({@link #ENV_SCRIPT}); {@code argv} itself when {@code secretEnv} is empty.
     * {@code env} (the plain variables) must not set the same variables. {@code flag} names the option in errors.
     */
    List<String> command(List<String> argv, Map<String, String> secretEnv, Map<String, String> env,
                         String workspace, Input flag) {
        if (secretEnv == null || secretEnv.isEmpty()) {
            return argv;
        }
        if (argv == null || argv.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a command to run");
        }
        List<String> out = new ArrayList<>(List.of("/bin/sh", "-c", ENV_SCRIPT, "davit-secret-env"));
        for (Map.Entry<String, String> e : secretEnv.entrySet()) {
            String var = e.getKey();
            check(var, flag);
            if (env != null && env.containsKey(var)) {
                throw new DavitException(Kind.USAGE, Message.of(var + " is set both as a variable and from a secret (",
                        flag, "); give it once"));
            }
            byte[] v = values.get(e.getValue());
            if (v == null) {
                throw new DavitException(Kind.USAGE, Message.of("workspace " + workspace + " has no secret '"
                        + e.getValue() + "' (", flag, " " + var + "=NAME); its secrets: " + (values.isEmpty() ? "none"
                        : String.join(", ", values.keySet()))).about(Subject.Type.WORKSPACE, workspace));
            }
            for (byte b : v) {
                if (b == 0) {
                    throw new DavitException(Kind.USAGE, "secret " + e.getValue() + " holds a NUL byte, which an"
                            + " environment variable cannot; read it from " + IN_SANDBOX + "/" + e.getValue());
                }
            }
            out.add(var);
            out.add(e.getValue());
        }
        out.add("--");
        out.addAll(argv);
        return out;
    }
}
