package dev.davit.oci;

import java.util.List;

/**
 * A fix an error offers: an {@link Action} with its arguments (the workspace to start, the registry to log in to).
 *
 * @param action what to do
 * @param args   its arguments, as many as the action takes
 */
public record Fix(Action action, List<String> args) implements Message.Part {
    /**
     * A fix.
     *
     * @param action what to do; not null
     * @param args   its arguments; exactly {@link Action#arity()} of them
     */
    public Fix {
        if (action == null || args == null || args.size() != action.arity()) {
            throw new IllegalArgumentException("Fix needs " + (action == null ? "an action" : action + " with "
                    + action.arity() + " arguments"));
        }
        args = List.copyOf(args);
    }

    /**
     * The fix in the library's words, e.g. {@code Workspaces.start("ws-1")}.
     *
     * @return the text
     */
    public String library() {
        return action.fill(action.library(), args);
    }
}
