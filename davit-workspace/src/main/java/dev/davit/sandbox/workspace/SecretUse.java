package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import java.util.List;
import java.util.Map;

/**
 * How one workspace's processes use its secrets: its {@link Redactor}, the command that sets variables from them
 * ({@link Secrets#command}) and {@code ensure}, which puts them into the sandbox when they are missing there.
 */
record SecretUse(Secrets secrets, Redactor redactor, Runnable ensure, String workspace) {
    /** {@code argv} with {@code secretEnv} set from the secrets (see {@link Secrets#command}); {@code flag} for errors. */
    List<String> command(List<String> argv, Map<String, String> secretEnv, Map<String, String> env,
                         dev.davit.oci.Input flag) {
        if (secretEnv != null && !secretEnv.isEmpty() && secrets.isEmpty()) {
            throw new DavitException(DavitException.Kind.USAGE, dev.davit.oci.Message.of("workspace " + workspace
                    + " has no secrets (", flag, "); give them when creating it (", dev.davit.oci.Action.GIVE_SECRETS
                    .fix(), ")").about(dev.davit.oci.Subject.Type.WORKSPACE, workspace));
        }
        List<String> cmd = secrets.command(argv, secretEnv, env, workspace, flag);
        ensure.run();
        return cmd;
    }

    /** {@code e} with every secret value in its message redacted (itself when none is). */
    static DavitException redacted(DavitException e, Redactor r) {
        String m = r.redact(e.getMessage());
        return m == null || m.equals(e.getMessage()) ? e : new DavitException(e.kind(), m);
    }
}
