package dev.davit.k8s;

/**
 * Which pod is a sandbox's: its name ({@code davit-<sandbox id>}, {@link Pods#name}) and the UID of the pod its last
 * start made (null: not recorded, any pod of the name), so that a pod of the same name made after it (a {@code
 * Sandbox}'s controller makes one when its pod goes) is not taken for it.
 *
 * @param sandboxId the sandbox's id, for what davit says
 * @param name      its pod's name
 * @param uid       its pod's UID, or null
 */
record PodRef(String sandboxId, String name, String uid) {
    /** Sandbox {@code sandboxId}'s pod of its own name, whichever UID it has (a one-shot run's; a fresh start's). */
    static PodRef of(String sandboxId) {
        return new PodRef(sandboxId, Pods.name(sandboxId), null);
    }
}
