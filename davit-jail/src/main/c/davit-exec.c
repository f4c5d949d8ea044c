/*
 * davit-exec: runs a command exec'd into a jailed long-lived sandbox (see docs/reference/sandbox/JAIL.md, "The jail").
 *
 *   davit-exec exec PID FILTER UID GID CAPS WORKDIR -- COMMAND [ARGS...]
 *
 * The command's environment comes as variables named DAVIT_ENV_NAME (each becomes NAME; nothing else of davit-exec's
 * environment reaches the command): the host's programs that start davit-exec (the cgroup join's sh, setsid,
 * script) never see the sandbox's own variables under their real names, so an image's or a caller's LD_PRELOAD,
 * BASH_ENV or SHELL cannot make a host program load or run a file the sandbox wrote.
 *
 * Started by davit as host root (after it joined the sandbox's cgroup), from the host's filesystem:
 *
 *   1. opens the namespaces of the sandbox's keeper PID (mount, uts, ipc, net, pid, cgroup, user) and reads the
 *      seccomp program (struct sock_filter[]) from the file FILTER;
 *   2. joins them, the user namespace last (it becomes the sandbox's root there, with every capability over it;
 *      the mount namespace's root, the sandbox's, becomes its root and working directory), and forks, so that its
 *      child is in the keeper's pid namespace; the parent waits and exits as the child did (128+N for signal N);
 *   3. the child joins a new, empty session key ring; drops every capability but CAPS (a hex mask) from its
 *      bounding set, clears the ambient set, sets no supplementary groups, becomes GID and UID (a non-root user
 *      keeps no capability) or, as root, keeps CAPS as its effective and permitted sets and nothing inheritable;
 *      sets no_new_privs, changes to WORKDIR (resolved inside the sandbox), closes every descriptor above 2,
 *      loads the seccomp filter and executes COMMAND along the environment's PATH.
 *
 * Started by davit as an ordinary user (rootless: the keeper's user namespace is one of that user's, nested in
 * others of its own), step 2 differs: it joins the user namespaces from the outermost of the keeper's to the
 * keeper's own, each followed by the keeper's namespaces that namespace owns (an unprivileged user may join a
 * namespace only from within the user namespace owning it; one it is in already is left alone), and keeps its ids,
 * which the keeper's namespace maps to the keeper's user; the supplementary groups stay where the namespace denies
 * setgroups (they are the user's own, unmapped inside). Step 3 is the same.
 *
 * (The "jail" mode, in mode-jail.c, makes a sandbox's mount namespace; each mode has a file of its own, listed in
 * davit-exec.h.) It is statically linked: nothing of the sandbox's (no dynamic loader, no library) runs in it.
 * Failures before
 * COMMAND runs are one line on stderr starting with "davit-exec: " and exit 125 (126/127 when COMMAND cannot be
 * executed or found); davit maps them as it maps bubblewrap's.
 */
#include "davit-exec.h"

void die(int code, const char *what, const char *arg) {
    fprintf(stderr, "davit-exec: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
    exit(code);
}

/* a usage error: one line (WHAT, then ARG when not null), exit 125 */
int usage(const char *what, const char *arg) {
    fprintf(stderr, "davit-exec: %s%s\n", what, arg ? arg : "");
    return 125;
}

/* Every signal back to its default action and none blocked: what started davit (a background job, nohup, a
 * service manager) may have ignored SIGINT or SIGQUIT, and a sandbox's command must not inherit that (an
 * interrupted shell's foreground job would not stop). */
void reset_signals(void) {
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* after a failed exec of COMMAND by HOW (execv, execvp): one line, 127 when it is not there, else 126 */
int exec_failed(const char *how, const char *command) {
    int e = errno;
    fprintf(stderr, "davit-exec: %s %s: %s\n", how, command, strerror(e));
    return e == ENOENT ? 127 : 126;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "with")) return with_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "userns")) return userns_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "jail")) return jail_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "vmm")) return vmm_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "exec")) return exec_main(argc - 1, argv + 1);
    if (argc == 2 && !strcmp(argv[1], "files")) return files_main();
    fprintf(stderr, "davit-exec: usage: davit-exec [with STEPS... --] jail ... | davit-exec vmm ... |"
            " davit-exec [with STEPS... --] exec ... |"
            " davit-exec userns ... | davit-exec files\n");
    return 125;
}
