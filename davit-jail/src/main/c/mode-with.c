/* ---- with: the host's steps before jail or exec, in this process (see Jail.withSteps) ---- */

#include "davit-exec.h"

/* Moves this process into the cgroup whose cgroup.procs is PROCS; when it cannot, creates MARKER (if not null),
 * which davit reads as "the cgroup join failed", and exits 125. */
static void join_cgroup(const char *procs, const char *marker) {
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%d\n", (int) getpid());
    int fd = open(procs, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && write(fd, pid, (size_t) n) == n && close(fd) == 0) return;
    int e = errno;
    if (marker) {
        /* a new file, never one that is there already (a link to another file is neither followed nor truncated):
         * one that is there says the same */
        int m = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (m >= 0) close(m);
    }
    errno = e;
    die(125, "cannot join the cgroup", procs);
}

/* This process (and what it starts) runs on the CPUs of LIST, a kernel CPU list (0-3,8). */
static void set_cpus(const char *list) {
    cpu_set_t set;
    CPU_ZERO(&set);
    const char *p = list;
    int ok = 0;
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9') break;
        unsigned long from = strtoul(p, &end, 10), to = from;
        if (*end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9') break;
            to = strtoul(p, &end, 10);
        }
        if (from > to || to >= CPU_SETSIZE) break;
        for (unsigned long c = from; c <= to; c++) CPU_SET(c, &set);
        p = end;
        if (!*p) {
            ok = 1;
            break;
        }
        if (*p != ',') break;
        p++;
    }
    if (!ok) {
        errno = EINVAL;
        die(125, "not a CPU list:", list);
    }
    if (sched_setaffinity(0, sizeof set, &set) < 0) die(125, "cannot run on the CPUs", list);
}

int listen_fd = -1;
int program_fd = -1;

/* Binds a unix stream socket at PATH (relative to this process's working directory, the sandbox's state directory on
 * the host, which nothing in the sandbox reaches) and listens there: a socket left by an earlier agent is replaced,
 * anything else at PATH is refused. Only the owner may connect (made under umask 077). */
static void listen_at(const char *path) {
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        die(125, "cannot bind the agent's socket", path);
    }
    strcpy(a.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            errno = EEXIST;
            die(125, "cannot bind the agent's socket", path);
        }
        if (unlink(path) < 0) die(125, "cannot remove the old agent's socket", path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die(125, "cannot make the agent's socket", path);
    mode_t old = umask(077);
    int bound = bind(fd, (struct sockaddr *) &a, sizeof a);
    umask(old);
    if (bound < 0 || listen(fd, 64) < 0) die(125, "cannot bind the agent's socket", path);
    listen_fd = fd;
}

static int run_mode(int argc, char **argv);

/*
 *   davit-exec with [--session] [--cgroup-failed MARKER] [--cgroup PROCS]... [--cpus LIST] [--listen PATH]
 *                   [--program FILE] -- jail|exec ARGS...
 *
 * The steps the host's programs took before jail or exec (setsid, the cgroup join's sh, taskset), in their order and
 * in this same process: a session of its own, this process written to each PROCS (a cgroup's cgroup.procs; one that
 * fails creates MARKER and exits 125), the CPUs of LIST; then the mode, which resets every signal's disposition
 * before it runs its command (as env --default-signal did before the sh). For exec mode only (the sandbox agent's
 * start): --listen binds a socket at PATH on the host that the command gets as descriptor 3, --program opens the host's
 * FILE, which exec mode executes (execveat) in place of looking the command up in the sandbox; with --listen the
 * command is resident: exec mode returns 0 once it forked it, and it lives on (in the sandbox's pid namespace).
 */
int with_main(int argc, char **argv) {
    const char *marker = NULL;
    int i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int valued = i + 1 < argc && strcmp(argv[i + 1], "--") != 0;
        if (!strcmp(argv[i], "--session")) {
            if (setsid() < 0) die(125, "cannot start a session", NULL);
        } else if (!strcmp(argv[i], "--cgroup-failed") && valued) {
            if (marker) return usage("--cgroup-failed given twice", NULL);
            marker = argv[++i];
        } else if (!strcmp(argv[i], "--cgroup") && valued) {
            join_cgroup(argv[++i], marker);
        } else if (!strcmp(argv[i], "--cpus") && valued) {
            set_cpus(argv[++i]);
        } else if (!strcmp(argv[i], "--listen") && valued) {
            if (listen_fd >= 0) return usage("--listen given twice", NULL);
            listen_at(argv[++i]);
        } else if (!strcmp(argv[i], "--program") && valued) {
            if (program_fd >= 0) return usage("--program given twice", NULL);
            program_fd = open(argv[++i], O_RDONLY | O_CLOEXEC);
            if (program_fd < 0) die(125, "cannot open the program", argv[i]);
        } else {
            return usage("unknown step ", argv[i]);
        }
    }
    if (i + 1 >= argc || (strcmp(argv[i + 1], "jail") != 0 && strcmp(argv[i + 1], "exec") != 0))
        return usage("with: jail or exec must follow --", NULL);
    if ((listen_fd >= 0 || program_fd >= 0) && strcmp(argv[i + 1], "exec") != 0)
        return usage("with: --listen and --program are for exec mode", NULL);
    argv[i] = argv[0];
    return run_mode(argc - i, argv + i);
}

/* jail or exec, as ARGV[1] says (after with's steps) */
static int run_mode(int argc, char **argv) {
    if (!strcmp(argv[1], "jail")) return jail_main(argc, argv);
    return exec_main(argc - 1, argv + 1);
}
