package dev.davit.oci.internal;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.List;
import java.util.Map;

/**
 * What a process can be given at all, checked where a spec is made (run, exec, service, shell) rather than met as
 * the JDK's or the kernel's refusal once the sandbox is up: no NUL byte in an argument, a variable's value or the
 * working directory (C strings end there), and variable names that are not empty and hold no {@code =}.
 */
public final class ProcessArgs {
    private ProcessArgs() {
    }

    /**
     * Refuses what no process can be given.
     *
     * @param command the argv; null: none
     * @param env     variables; null: none
     * @param dir     the working directory; null: the default
     * @throws DavitException USAGE naming the argument, variable or directory
     */
    public static void check(List<String> command, Map<String, String> env, String dir) {
        if (command != null) {
            for (int i = 0; i < command.size(); i++) {
                String a = command.get(i);
                if (a == null || a.indexOf('\0') >= 0) {
                    throw new DavitException(Kind.USAGE, "argument " + i + " of the command " + (a == null
                            ? "is null" : "holds a NUL byte") + "; a program's arguments are text without NUL");
                }
            }
        }
        if (env != null) {
            for (Map.Entry<String, String> e : env.entrySet()) {
                String k = e.getKey();
                if (k == null || k.isEmpty() || k.indexOf('=') >= 0 || k.indexOf('\0') >= 0) {
                    throw new DavitException(Kind.USAGE, "invalid environment variable name '"
                            + (k == null ? "null" : k.replace("\0", "\\0")) + "'; a name is not empty and holds no"
                            + " '=' or NUL");
                }
                if (e.getValue() == null || e.getValue().indexOf('\0') >= 0) {
                    throw new DavitException(Kind.USAGE, "environment variable " + k + "'s value "
                            + (e.getValue() == null ? "is null" : "holds a NUL byte") + "; give text without NUL");
                }
            }
        }
        if (dir != null && dir.indexOf('\0') >= 0) {
            throw new DavitException(Kind.USAGE, "the working directory holds a NUL byte; give a path without NUL");
        }
    }
}
