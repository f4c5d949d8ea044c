/* ---- exec mode: a command exec'd into a jailed long-lived sandbox (see davit-exec.c, at its top) ---- */

#include "davit-exec.h"

#define MAX_INSNS 4096

/* Makes process group PGRP the foreground one of the terminal on descriptor 0 (of this process's session); SIGTTOU,
 * which a background group's tcsetpgrp would get, is blocked meanwhile. */
static void take_foreground(pid_t pgrp) {
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    sigprocmask(SIG_BLOCK, &ttou, &old);
    tcsetpgrp(0, pgrp);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Whether this process's user namespace allows setgroups (a rootless one made with a single mapping denies it). */
static int setgroups_allowed(void) {
    char buf[16] = { 0 };
    int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return !(n >= 4 && !strncmp(buf, "deny", 4));
}

/* Whether two namespace descriptors name the same namespace. */
static int same_ns(int a, int b) {
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

#define MAX_DEPTH 33 /* the kernel nests at most 32 user namespaces */

/*
 * Rootless: joins the user namespace fds[6] and the others of fds (closing them all), each user namespace on the
 * way from this process's own down to fds[6] first, then the namespaces of fds that it owns.
 */
static void join_rootless(int *fds, const int *types, const char **names) {
    int mine = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
    if (mine < 0) die(125, "cannot open the namespace", "/proc/self/ns/user");
    int chain[MAX_DEPTH], depth = 0;
    int u = dup(fds[6]);
    while (u >= 0 && !same_ns(u, mine)) {
        if (depth == MAX_DEPTH) {
            errno = ELOOP;
            die(125, "cannot join the sandbox's namespace", "user");
        }
        chain[depth++] = u;
        u = ioctl(u, NS_GET_PARENT);
        if (u < 0) die(125, "the sandbox's user namespace is not one of this user's", NULL);
    }
    close(u);
    int owners[6];
    for (int i = 0; i < 6; i++) {
        owners[i] = ioctl(fds[i], NS_GET_USERNS);
        if (owners[i] < 0) die(125, "cannot find the owner of the sandbox's namespace", names[i]);
    }
    int done[6] = { 0 };
    for (int i = 0; i < 6; i++) { /* one this process is in already (the host's network, ...) is left alone */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        int cur = open(path, O_RDONLY | O_CLOEXEC);
        done[i] = cur >= 0 && same_ns(cur, fds[i]);
        if (cur >= 0) close(cur);
    }
    for (int d = depth - 1; d >= 0; d--) {
        if (setns(chain[d], CLONE_NEWUSER) < 0) die(125, "cannot join the sandbox's namespace", "user");
        for (int i = 0; i < 6; i++) {
            if (!done[i] && same_ns(owners[i], chain[d])) {
                if (setns(fds[i], types[i]) < 0) die(125, "cannot join the sandbox's namespace", names[i]);
                done[i] = 1;
            }
        }
        close(chain[d]);
    }
    for (int i = 0; i < 6; i++) {
        if (!done[i]) {
            errno = EPERM;
            die(125, "cannot join the sandbox's namespace", names[i]);
        }
        close(owners[i]);
        close(fds[i]);
    }
    close(fds[6]);
    close(mine);
}

#define ENV_PREFIX "DAVIT_ENV_"

/* The command's environment: each DAVIT_ENV_NAME=VALUE of this process's as NAME=VALUE, and nothing else. */
static char **command_environment(void) {
    extern char **environ;
    size_t n = 0, plen = strlen(ENV_PREFIX);
    for (char **e = environ; *e; e++) n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out) die(125, "out of memory", NULL);
    size_t k = 0;
    for (char **e = environ; *e; e++) {
        if (!strncmp(*e, ENV_PREFIX, plen) && strchr(*e + plen, '=') && (*e)[plen] != '=') out[k++] = *e + plen;
    }
    out[k] = NULL;
    return out;
}

int exec_main(int argc, char **argv) {
    if (argc < 9 || strcmp(argv[7], "--") != 0) {
        fprintf(stderr, "davit-exec: usage: davit-exec PID FILTER UID GID CAPS WORKDIR -- COMMAND [ARGS...]\n");
        return 125;
    }
    const char *pid = argv[1];
    /* the resident agent's stdout and stderr: the host's /dev/null, never the file davit's log is (a host file the
     * sandbox could reopen through /proc while the agent is still dumpable, at the start of its execveat) */
    int devnull = -1;
    if (listen_fd >= 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) die(125, "cannot open", "/dev/null");
    int filter_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (filter_fd < 0) die(125, "cannot open the seccomp filter", argv[2]);
    uid_t uid = (uid_t) strtoul(argv[3], NULL, 10);
    gid_t gid = (gid_t) strtoul(argv[4], NULL, 10);
    uint64_t caps = strtoull(argv[5], NULL, 16);
    const char *workdir = argv[6];
    char **command = argv + 8;

    /* the keeper's namespaces, all opened before any is joined (the mount namespace changes what /proc is) */
    static const char *names[] = { "mnt", "uts", "ipc", "net", "pid", "cgroup", "user" };
    static const int types[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID,
                                 CLONE_NEWCGROUP, CLONE_NEWUSER };
    int fds[7];
    for (int i = 0; i < 7; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, names[i]);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) die(125, "cannot open the namespace", path);
    }
    static struct sock_filter insns[MAX_INSNS];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(filter_fd, (char *) insns + got, sizeof insns - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            die(125, "cannot read the seccomp filter", NULL);
        }
        if (n == 0) break;
        got += (size_t) n;
        if (got == sizeof insns) break;
    }
    if (got == 0 || got % sizeof(struct sock_filter) != 0) {
        errno = EINVAL;
        die(125, "the seccomp filter is malformed", NULL);
    }
    struct sock_fprog prog = { .len = (unsigned short) (got / sizeof(struct sock_filter)), .filter = insns };

    int rootless = geteuid() != 0;
    if (rootless) {
        join_rootless(fds, types, names);
    } else {
        for (int i = 0; i < 7; i++) {
            if (setns(fds[i], types[i]) < 0) die(125, "cannot join the sandbox's namespace", names[i]);
            close(fds[i]);
        }
        /* root of the sandbox's user namespace: the ids it maps 0 to */
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            die(125, "cannot become the sandbox's root", NULL);
    }

    /* a terminal's foreground job (a shell's: util-linux script made this process its session's leader): the command
     * becomes a foreground process group of its own, one that its pid namespace shows (ours is outside it, so the
     * command would see the terminal's group as 0: dash's job control gives the terminal back to the group it found
     * at its start when it ends, and failed there with "Cannot set tty process group", exit 2) */
    int foreground = isatty(0) && tcgetpgrp(0) == getpgrp();
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* the child inherits it: no ptrace before its filter (execve resets it) */
    pid_t child = fork();
    if (child < 0) die(125, "cannot fork", NULL);
    /* the sandbox agent (--listen) is resident: it outlives this process (in the sandbox's pid namespace) */
    int resident = listen_fd >= 0;
    if (child > 0 && resident) return 0;
    if (child > 0) {
        /* the parent only waits, with no capability left and not dumpable, and ends as the command ended */
        struct __user_cap_header_struct ph = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct none[2];
        memset(none, 0, sizeof none);
        syscall(SYS_capset, &ph, none);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        int status;
        while (waitpid(child, &status, 0) < 0) {
            if (errno != EINTR) die(125, "cannot wait for the command", NULL);
        }
        if (foreground) take_foreground(getpgrp()); /* the terminal back to our group, as a shell takes it back */
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
    }

    if (foreground && setpgid(0, 0) == 0) take_foreground(getpid()); /* else it runs in ours, as before */
    if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0) die(125, "cannot join a session key ring", NULL);

    for (int c = 0; c <= LAST_CAP; c++) {
        if (!(caps & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            die(125, "cannot drop a capability from the bounding set", NULL);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        die(125, "cannot clear the ambient capabilities", NULL);
    if ((!rootless || setgroups_allowed()) && setgroups(0, NULL) < 0)
        die(125, "cannot clear the supplementary groups", NULL);
    if (setresgid(gid, gid, gid) < 0) die(125, "cannot become the group", argv[4]);
    if (setresuid(uid, uid, uid) < 0) die(125, "cannot become the user", argv[3]);
    if (!resident) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* killed with its parent (a timeout, the output limit) */
        if (getppid() == 1) return 125; /* the parent is gone already */
    }
    /* not dumpable until the command's execve: nobody in the sandbox may ptrace it before its filter is loaded */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (uid == 0 || rootless) {
        /* rootless, a non-root user was that user before setresuid already and kept what joining gave: none */
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2];
        memset(d, 0, sizeof d);
        uint64_t keep = uid == 0 ? caps : 0;
        d[0].effective = d[0].permitted = (uint32_t) keep;
        d[1].effective = d[1].permitted = (uint32_t) (keep >> 32);
        if (syscall(SYS_capset, &h, d) < 0) die(125, "cannot set the capabilities", NULL);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(125, "cannot set no_new_privs", NULL);
    if (chdir(workdir) < 0) die(125, "Can't chdir to", workdir);
    /* every descriptor above 2 closed but the agent's: its listening socket as 3, its program (close-on-exec) next */
    int next = 3, program = -1;
    if (program_fd >= 0 && (program = fcntl(program_fd, F_DUPFD_CLOEXEC, 16)) < 0) die(125, "cannot keep the program", NULL);
    if (devnull >= 0 && (devnull = fcntl(devnull, F_DUPFD_CLOEXEC, 16)) < 0) die(125, "cannot keep", "/dev/null");
    if (listen_fd >= 0) {
        if ((listen_fd != 3 && dup2(listen_fd, 3) < 0) || fcntl(3, F_SETFD, 0) < 0)
            die(125, "cannot keep the agent's socket", NULL);
        next = 4;
    }
    if (program >= 0) {
        if (dup3(program, next, O_CLOEXEC) < 0) die(125, "cannot keep the program", NULL);
        program = next++;
    }
    if (devnull >= 0) {
        if (dup3(devnull, next, O_CLOEXEC) < 0) die(125, "cannot keep", "/dev/null");
        devnull = next++;
    }
    if (syscall(SYS_close_range, next, ~0U, 0) < 0) {
        for (int fd = next; fd < 1024; fd++) close(fd);
    }
    extern char **environ;
    environ = command_environment(); /* execvp looks the command up along this PATH, the command's */
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) die(125, "cannot load the seccomp filter", NULL);
    reset_signals();
    if (program >= 0) {
        int err = devnull < 0 ? -1 : fcntl(2, F_DUPFD_CLOEXEC, next);
        if (devnull >= 0 && (dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)) return 125;
        syscall(SYS_execveat, program, "", command, environ, AT_EMPTY_PATH);
        if (err >= 0) dup2(err, 2);
        return exec_failed("execveat", command[0]);
    }
    execvp(command[0], command);
    return exec_failed("execvp", command[0]);
}
