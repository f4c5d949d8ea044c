package dev.davit.sandbox.jail;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.SandboxOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The guarantees of the jail that davit, run as an ordinary user, can and cannot give on this host (see
 * docs/reference/sandbox/JAIL.md, "The jail"): {@code davit doctor} reports each, and a sandbox that would lack one it needs is
 * refused ({@link #require}) unless the caller opted out ({@link SandboxOptions#allowWeakerSandbox()}).
 *
 * <ul>
 *   <li>{@value #USER_NAMESPACES}: unprivileged user namespaces, in which every rootless sandbox is made (its root
 *       is this user, never host root).</li>
 *   <li>{@value #CONFINED_EXECS}: commands exec'd into a long-lived sandbox (execs, services, shells, workspace
 *       execs) are confined as a one-shot run is (the seccomp filter, no_new_privs, the default capabilities): the
 *       build's helper davit-exec does it.</li>
 *   <li>{@value #SEPARATE_USERS}: an image's non-root {@code User} runs as a host uid other than sandbox root's,
 *       so that it cannot change what root owns in the sandbox: one of the user's subordinate ids ({@link Subids}).
 *       It holds for one-shot runs (bubblewrap, crun, runc), long-lived sandboxes and workspaces where the user
 *       has them.</li>
 * </ul>
 */
public final class Rootless {
    public static final String USER_NAMESPACES = "user_namespaces";
    public static final String CONFINED_EXECS = "confined_execs";
    public static final String SEPARATE_USERS = "separate_users";
    /** The environment variable that opts out of {@link #require} (value {@code 1}), as the CLI flag does. */
    public static final String OPT_OUT_ENV = SandboxOptions.ALLOW_WEAKER_SANDBOX_ENV;
    /** The call that opts out of {@link #require}, as errors name it (the CLI's flag is --allow-weaker-sandbox). */
    public static final Input OPT_OUT = Input.ALLOW_WEAKER_SANDBOX;

    private static final Path SYSCTL = Path.of("/proc/sys");

    private Rootless() {
    }

    /**
     * One guarantee: whether it holds here, what it is, and (when it does not hold) why not and the fix, one line.
     */
    public record Guarantee(String name, boolean holds, String what, String missing) {
    }

    /** Every guarantee, in the order of the class comment (meaningful without root only). */
    public static List<Guarantee> check(SandboxOptions options) {
        return check(options, SYSCTL, Path.of(System.getProperty("davit.subuid", "/etc/subuid")),
                Path.of(System.getProperty("davit.subgid", "/etc/subgid")), System.getProperty("user.name"));
    }

    static List<Guarantee> check(SandboxOptions options, Path sysctl, Path subuid, Path subgid, String user) {
        List<Guarantee> all = new ArrayList<>();
        String userns = userNamespacesDisabled(sysctl);
        all.add(new Guarantee(USER_NAMESPACES, userns == null, "sandboxes are made in user namespaces of this user,"
                + " whose root is never host root", userns));
        all.add(new Guarantee(CONFINED_EXECS, Jail.execHelper(options) != null, "commands exec'd into long-lived"
                + " sandboxes get the seccomp filter, no_new_privs and the default capabilities",
                "this davit was built without its helper davit-exec (no gcc): commands exec'd into a long-lived"
                        + " sandbox would run without the seccomp filter and with every capability of its user"
                        + " namespace; build davit where gcc and a static libc are installed (scripts/install-deps.sh)"));
        String separate = separateUsersMissing(options, subuid, subgid, user);
        all.add(new Guarantee(SEPARATE_USERS, separate == null, "an image's non-root User runs as a host uid other"
                + " than sandbox root's, one of the user's subordinate ids (runs, long-lived sandboxes and workspaces)",
                separate));
        return all;
    }

    /** Why user namespaces cannot be made by this user (a sysctl and its fix), or null. */
    static String userNamespacesDisabled(Path sysctl) {
        for (String[] s : new String[][] {{"user/max_user_namespaces", "0", "15000"},
                {"kernel/unprivileged_userns_clone", "0", "1"},
                {"kernel/apparmor_restrict_unprivileged_userns", "1", "0"}}) {
            String value = read(sysctl.resolve(s[0]));
            if (s[1].equals(value)) {
                String key = s[0].replace('/', '.');
                return "unprivileged user namespaces are disabled (" + key + "=" + value + "); as root run: sysctl -w "
                        + key + "=" + s[2];
            }
        }
        return null;
    }

    /**
     * Why {@value #SEPARATE_USERS} does not hold for {@code user}: what the host lacks, else what davit lacks; null
     * when it holds.
     */
    private static String separateUsersMissing(SandboxOptions options, Path subuid, Path subgid, String user) {
        List<String> lacks = Subids.lacking(options, subuid, subgid, user, Subids.uidText());
        return lacks.isEmpty() ? null : "a non-root image User is this user, as sandbox root is; rootless sandboxes"
                + " need subordinate ids for it: " + String.join(", and ", lacks);
    }

    /** Whether {@code file} has a {@code user:start:count} line with a count of at least 65536. */
    public static boolean hasRange(Path file, String user) {
        return Subids.range(file, user, null) != null;
    }

    /**
     * Refuses, without root, a container sandbox that would lack a guarantee it needs: every one needs
     * {@value #USER_NAMESPACES}, a long-lived one {@value #CONFINED_EXECS}, one whose image User is not root
     * {@value #SEPARATE_USERS} (asked only then; every rootless sandbox maps the user's subordinate ids where the
     * user has them, see {@link Subids}). One line naming each missing guarantee and its fix, and the opt-out.
     * Nothing as root, or when {@code options} opt out.
     */
    public static void require(SandboxOptions options, boolean longLived,
                               java.util.function.BooleanSupplier nonRootUser) {
        if (Jail.active() || options.allowWeakerSandbox()) {
            return;
        }
        List<String> missing = new ArrayList<>();
        for (Guarantee g : check(options)) {
            boolean needed = switch (g.name()) {
                case CONFINED_EXECS -> longLived;
                case SEPARATE_USERS -> nonRootUser.getAsBoolean();
                default -> true;
            };
            if (needed && !g.holds()) {
                missing.add(g.name() + ": " + g.missing());
            }
        }
        if (!missing.isEmpty()) {
            throw new DavitException(Kind.USAGE, Message.of("refused: this rootless sandbox would lack a"
                    + " guarantee of the jail (" + String.join("; ", missing) + "); or pass ", OPT_OUT, " (or set "
                    + OPT_OUT_ENV + "=1) to run it anyway (see ", Action.DOCTOR.fix(), ")"));
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
