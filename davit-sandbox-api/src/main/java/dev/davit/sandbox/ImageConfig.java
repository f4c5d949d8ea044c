package dev.davit.sandbox;

import java.util.List;

/**
 * The run defaults of an OCI image config ({@code config.Entrypoint}, {@code Cmd}, {@code Env}, {@code WorkingDir},
 * {@code User}). Missing fields are empty lists or null.
 *
 * @param entrypoint the argv put in front of every one-shot command ({@code Entrypoint}); empty for none
 * @param cmd        the default command when none is given ({@code Cmd}); empty for none
 * @param env        the image's variables as {@code NAME=value} strings ({@code Env}), in order
 * @param workingDir the default working directory ({@code WorkingDir}), or null
 * @param user       the user commands run as ({@code User}: a name or uid, optionally {@code :group}), or null for
 *                   root
 */
public record ImageConfig(List<String> entrypoint, List<String> cmd, List<String> env, String workingDir,
                          String user) {
    /** No defaults. */
    public static final ImageConfig EMPTY = new ImageConfig(List.of(), List.of(), List.of(), null, null);

    /** Null lists become empty, blank strings null. */
    public ImageConfig {
        entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        env = env == null ? List.of() : List.copyOf(env);
        workingDir = workingDir == null || workingDir.isBlank() ? null : workingDir;
        user = user == null || user.isBlank() ? null : user;
    }
}
