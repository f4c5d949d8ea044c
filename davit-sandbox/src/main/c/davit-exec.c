/*
 * davit-exec: runs a command exec'd into a jailed long-lived sandbox (see docs/reference/SANDBOX.md, "The jail").
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
 * (The "jail" mode, below, makes a sandbox's mount namespace.) It is statically linked: nothing of the sandbox's
 * (no dynamic loader, no library) runs in it. Failures before
 * COMMAND runs are one line on stderr starting with "davit-exec: " and exit 125 (126/127 when COMMAND cannot be
 * executed or found); davit maps them as it maps bubblewrap's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <grp.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/mount.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <limits.h>
#include <sys/xattr.h>

#define MAX_INSNS 4096
#define LAST_CAP 63

static void die(int code, const char *what, const char *arg) {
    fprintf(stderr, "davit-exec: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
    exit(code);
}

/* a usage error: one line (WHAT, then ARG when not null), exit 125 */
static int usage(const char *what, const char *arg) {
    fprintf(stderr, "davit-exec: %s%s\n", what, arg ? arg : "");
    return 125;
}

/* Every signal back to its default action and none blocked: what started davit (a background job, nohup, a
 * service manager) may have ignored SIGINT or SIGQUIT, and a sandbox's command must not inherit that (an
 * interrupted shell's foreground job would not stop). */
static void reset_signals(void) {
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

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

/* after a failed exec of COMMAND by HOW (execv, execvp): one line, 127 when it is not there, else 126 */
static int exec_failed(const char *how, const char *command) {
    int e = errno;
    fprintf(stderr, "davit-exec: %s %s: %s\n", how, command, strerror(e));
    return e == ENOENT ? 127 : 126;
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

static int exec_main(int argc, char **argv) {
    if (argc < 9 || strcmp(argv[7], "--") != 0) {
        fprintf(stderr, "davit-exec: usage: davit-exec PID FILTER UID GID CAPS WORKDIR -- COMMAND [ARGS...]\n");
        return 125;
    }
    const char *pid = argv[1];
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
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* killed with its parent (a timeout, the output limit) */
    if (getppid() == 1) return 125; /* the parent is gone already */
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
    if (syscall(SYS_close_range, 3, ~0U, 0) < 0) {
        for (int fd = 3; fd < 1024; fd++) close(fd);
    }
    extern char **environ;
    environ = command_environment(); /* execvp looks the command up along this PATH, the command's */
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) die(125, "cannot load the seccomp filter", NULL);
    reset_signals();
    execvp(command[0], command);
    return exec_failed("execvp", command[0]);
}

/* ---- jail mode: the sandbox's private mount namespace (see docs/reference/SANDBOX.md, "The jail") ---- */


#define JAIL_DIR "/run/davit"

static void mkpoint(const char *point, const char *like) {
    struct stat st;
    if (stat(like, &st) < 0) die(125, "cannot stat", like);
    if (S_ISDIR(st.st_mode)) {
        if (mkdir(point, 0755) < 0 && errno != EEXIST) die(125, "cannot make the mount point", point);
    } else {
        int fd = open(point, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) die(125, "cannot make the mount point", point);
        close(fd);
    }
}

static void jail_bind(const char *src, const char *point, int ro) {
    mkpoint(point, src);
    if (mount(src, point, NULL, MS_BIND | MS_REC, NULL) < 0) die(125, "cannot bind", src);
    if (ro && mount(NULL, point, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        die(125, "cannot make read-only", point);
}

static void idmap(const char *src, const char *point, int userns) {
    mkpoint(point, src);
    int tree = (int) syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) die(125, "open_tree", src);
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY;
    attr.userns_fd = (uint64_t) userns;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
        die(125, "an idmapped mount of (the filesystem must support idmapped mounts)", src);
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, point, MOVE_MOUNT_F_EMPTY_PATH) < 0) die(125, "move_mount", point);
    close(tree);
}

/*
 *   davit-exec jail USERNS [--root ROOTFS LAYER UPPER WORK] [--bind NAME SRC] [--bind-ro NAME SRC]
 *                   [--idmap NAME SRC] ... [--fd N FILE]... [--ids UID GID] -- COMMAND [ARGS...]
 *
 * As host root: a private mount namespace (nothing propagates to the host), a tmpfs on /run/davit, with --root the
 * sandbox's root at /run/davit/root (the overlay of ROOTFS, idmapped through the user namespace USERNS and
 * read-only, under the upper layer LAYER/UPPER, work directory LAYER/WORK), each --bind/--bind-ro SRC at
 * /run/davit/NAME and each --idmap SRC (idmapped, read-only) there; then a new, empty session key ring, each --fd
 * FILE opened read-only as descriptor N (4 to 9, for COMMAND: bubblewrap's --userns, --seccomp, --pidns), with --ids
 * no supplementary groups and the host ids UID and GID (real, effective and saved: no capability left), and
 * COMMAND, which inherits all of it. (--fd and --ids are the launcher's sh and setpriv, taken here: Jail.launcher.)
 */
static int jail_main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "davit-exec: usage: davit-exec jail USERNS [--root ROOTFS LAYER UPPER WORK] [--bind NAME SRC]"
                " [--bind-ro NAME SRC] [--idmap NAME SRC]... -- COMMAND [ARGS...]\n");
        return 125;
    }
    int userns = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (userns < 0) die(125, "cannot open the user namespace", argv[2]);
    int i = 3;
    if (unshare(CLONE_NEWNS) < 0) die(125, "unshare(CLONE_NEWNS)", NULL);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die(125, "cannot make every mount private", NULL);
    if (mkdir(JAIL_DIR, 0755) < 0 && errno != EEXIST) die(125, "cannot make", JAIL_DIR);
    if (mount("davit-jail", JAIL_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
        die(125, "cannot mount a tmpfs on", JAIL_DIR);
    char point[8400], a[4096], b[4096];
    int fd_numbers[6], nfds = 0, have_ids = 0;
    const char *fd_files[6];
    uid_t ids_uid = 0;
    gid_t ids_gid = 0;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!strcmp(argv[i], "--fd") && i + 2 < argc) {
            char *end;
            long n = strtol(argv[i + 1], &end, 10);
            if (*end || argv[i + 1][0] < '0' || argv[i + 1][0] > '9' || n < 4 || n > 9)
                return usage("not a descriptor for --fd (4 to 9): ", argv[i + 1]);
            for (int k = 0; k < nfds; k++) {
                if (fd_numbers[k] == n) return usage("--fd given twice: ", argv[i + 1]);
            }
            if (nfds == 6) return usage("too many --fd", NULL);
            fd_numbers[nfds] = (int) n;
            fd_files[nfds++] = argv[i + 2];
            i += 2;
        } else if (!strcmp(argv[i], "--ids") && i + 2 < argc) {
            char *e1, *e2;
            unsigned long u = strtoul(argv[i + 1], &e1, 10), g = strtoul(argv[i + 2], &e2, 10);
            if (*e1 || *e2 || argv[i + 1][0] < '0' || argv[i + 1][0] > '9' || argv[i + 2][0] < '0'
                    || argv[i + 2][0] > '9' || u == 0 || g == 0 || u > 0xfffffffeUL || g > 0xfffffffeUL)
                return usage("not a non-root UID GID for --ids: ", argv[i + 1]);
            ids_uid = (uid_t) u;
            ids_gid = (gid_t) g;
            have_ids = 1;
            i += 2;
        } else if (!strcmp(argv[i], "--root") && i + 4 < argc) {
            const char *rootfs = argv[i + 1], *layer = argv[i + 2], *upper = argv[i + 3], *work = argv[i + 4];
            jail_bind(layer, JAIL_DIR "/.layer", 0);
            idmap(rootfs, JAIL_DIR "/lower", userns);
            if (mkdir(JAIL_DIR "/root", 0755) < 0) die(125, "cannot make", JAIL_DIR "/root");
            snprintf(a, sizeof a, JAIL_DIR "/.layer/%s", upper);
            snprintf(b, sizeof b, JAIL_DIR "/.layer/%s", work);
            snprintf(point, sizeof point, "lowerdir=" JAIL_DIR "/lower,upperdir=%s,workdir=%s", a, b);
            if (mount("overlay", JAIL_DIR "/root", "overlay", 0, point) < 0)
                die(125, "cannot mount the sandbox's overlay on", JAIL_DIR "/root");
            i += 4;
        } else if ((!strcmp(argv[i], "--bind") || !strcmp(argv[i], "--bind-ro") || !strcmp(argv[i], "--idmap"))
                   && i + 2 < argc) {
            if (strchr(argv[i + 1], '/') || !strcmp(argv[i + 1], "..") || !strcmp(argv[i + 1], ".")) {
                fprintf(stderr, "davit-exec: not a name: %s\n", argv[i + 1]);
                return 125;
            }
            snprintf(point, sizeof point, JAIL_DIR "/%s", argv[i + 1]);
            if (!strcmp(argv[i], "--idmap")) idmap(argv[i + 2], point, userns);
            else jail_bind(argv[i + 2], point, !strcmp(argv[i], "--bind-ro"));
            i += 2;
        } else {
            return usage("unknown jail option ", argv[i]);
        }
    }
    if (i >= argc - 1) return usage("no command after --", NULL);
    close(userns);
    if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0) die(125, "cannot join a session key ring", NULL);
    for (int k = 0; k < nfds; k++) {
        /* only 0-2 and the descriptors set before are open here, and N is above 3: open's lowest free number is
         * never another --fd's N that was set already */
        int fd = open(fd_files[k], O_RDONLY | O_CLOEXEC);
        if (fd < 0) die(125, "cannot open", fd_files[k]);
        if (fd == fd_numbers[k]) {
            if (fcntl(fd, F_SETFD, 0) < 0) die(125, "cannot keep open", fd_files[k]);
        } else {
            if (dup2(fd, fd_numbers[k]) < 0) die(125, "cannot keep open", fd_files[k]);
            close(fd);
        }
    }
    /* with --ids, COMMAND (a path) is found as root, as setpriv found it (it keeps its capabilities until its exec):
     * bubblewrap may sit in a directory only root may search; it runs as the new ids, and the kernel checks that
     * they may execute it */
    int exe = -1;
    if (have_ids && strchr(argv[i + 1], '/')) {
        exe = open(argv[i + 1], O_PATH | O_CLOEXEC);
        if (exe < 0) return exec_failed("open", argv[i + 1]);
    }
    if (have_ids) {
        if (setgroups(0, NULL) < 0 || setresgid(ids_gid, ids_gid, ids_gid) < 0 || setresuid(ids_uid, ids_uid, ids_uid) < 0)
            die(125, "cannot become the sandbox's host user", NULL);
        /* none left, whatever the securebits davit was started with (KEEP_CAPS, NO_SETUID_FIXUP would keep them
         * across the change of ids): bubblewrap gets its capabilities in the sandbox's user namespace by joining it */
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct none[2];
        memset(none, 0, sizeof none);
        if (syscall(SYS_capset, &h, none) < 0) die(125, "cannot drop the capabilities", NULL);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
            die(125, "cannot clear the ambient capabilities", NULL);
    }
    reset_signals();
    if (exe >= 0) {
        extern char **environ;
        syscall(SYS_execveat, exe, "", argv + i + 1, environ, AT_EMPTY_PATH);
        return exec_failed("execveat", argv[i + 1]);
    }
    execvp(argv[i + 1], argv + i + 1);
    return exec_failed("execvp", argv[i + 1]);
}

/* ---- vmm mode: a VMM's own root (see docs/reference/SANDBOX.md, "The VMM") ---- */

#define VMM_ROOT JAIL_DIR "/.vmm-root"

/* mkdir -p of PATH's parent directories below the new root (PATH is absolute, as in the root) */
static void mkparents(const char *path) {
    char p[4096];
    if (snprintf(p, sizeof p, VMM_ROOT "%s", path) >= (int) sizeof p) {
        errno = ENAMETOOLONG;
        die(125, "path too long", path);
    }
    for (char *c = p + strlen(VMM_ROOT) + 1; *c; c++) {
        if (*c != '/') continue;
        *c = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST) die(125, "cannot make", p);
        *c = '/';
    }
}

/* SRC (a path of this mount namespace) bound at DEST in the new root, with FLAGS on the bind (MS_RDONLY, ...) */
static void vmm_bind(const char *dest, const char *src, unsigned long flags) {
    char point[4096];
    mkparents(dest);
    snprintf(point, sizeof point, VMM_ROOT "%s", dest);
    mkpoint(point, src);
    if (mount(src, point, NULL, MS_BIND, NULL) < 0) die(125, "cannot bind", src);
    if (mount(NULL, point, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0) die(125, "cannot restrict the bind of", src);
}

/*
 *   davit-exec vmm UID GID GROUPS [--link PATH TARGET] [--ro PATH SRC] [--rw PATH SRC] [--dev PATH SRC] ...
 *                  -- COMMAND [ARGS...]
 *
 * As host root, inside a jail step's mount namespace (davit-exec jail): a mount namespace of its own whose root is a
 * new tmpfs holding only the given entries: each --link a symbolic link PATH -> TARGET, each --ro SRC bound at PATH
 * read-only (nosuid, nodev), --rw writable (nosuid, nodev, noexec), --dev a device node (nosuid, noexec); the tmpfs
 * is then made read-only and becomes the root (pivot_root; the old root is detached). Then it drops to UID and GID
 * with GROUPS (a comma-separated list of gids, or "-" for none), no capabilities (bounding, ambient, inheritable sets
 * empty), no_new_privs, closes every descriptor above 2 and executes COMMAND (an absolute path in the new root).
 */
static int vmm_main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "davit-exec: usage: davit-exec vmm UID GID GROUPS [--link PATH TARGET] [--ro|--rw|--dev PATH"
                " SRC]... -- COMMAND [ARGS...]\n");
        return 125;
    }
    uid_t uid = (uid_t) strtoul(argv[2], NULL, 10);
    gid_t gid = (gid_t) strtoul(argv[3], NULL, 10);
    gid_t groups[32];
    int ngroups = 0;
    if (strcmp(argv[4], "-") != 0) {
        for (char *g = argv[4]; *g && ngroups < 32; ) {
            groups[ngroups++] = (gid_t) strtoul(g, &g, 10);
            if (*g == ',') g++;
        }
    }
    if (uid == 0 || gid == 0) return usage("the VMM may not run as root", NULL);
    if (unshare(CLONE_NEWNS) < 0) die(125, "unshare(CLONE_NEWNS)", NULL);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die(125, "cannot make every mount private", NULL);
    if (mkdir(VMM_ROOT, 0755) < 0 && errno != EEXIST) die(125, "cannot make", VMM_ROOT);
    if (mount("davit-vmm", VMM_ROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") < 0)
        die(125, "cannot mount a tmpfs on", VMM_ROOT);
    int i = 5;
    for (; i < argc && strcmp(argv[i], "--") != 0; i += 3) {
        if (i + 2 >= argc || argv[i + 1][0] != '/' || strstr(argv[i + 1], "/../") || strstr(argv[i + 1], "/./"))
            return usage("bad vmm option ", argv[i]);
        if (!strcmp(argv[i], "--link")) {
            char link[4096];
            mkparents(argv[i + 1]);
            snprintf(link, sizeof link, VMM_ROOT "%s", argv[i + 1]);
            if (symlink(argv[i + 2], link) < 0 && errno != EEXIST) die(125, "cannot make the link", argv[i + 1]);
        } else if (!strcmp(argv[i], "--ro")) {
            vmm_bind(argv[i + 1], argv[i + 2], MS_RDONLY | MS_NOSUID | MS_NODEV);
        } else if (!strcmp(argv[i], "--rw")) {
            vmm_bind(argv[i + 1], argv[i + 2], MS_NOSUID | MS_NODEV | MS_NOEXEC);
        } else if (!strcmp(argv[i], "--dev")) {
            vmm_bind(argv[i + 1], argv[i + 2], MS_NOSUID | MS_NOEXEC);
        } else {
            return usage("unknown vmm option ", argv[i]);
        }
    }
    if (i >= argc - 1) return usage("no command after --", NULL);
    if (mount(NULL, VMM_ROOT, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die(125, "cannot make the VMM's root read-only", NULL);
    /* the new root over the old one, then the old one detached: nothing of the host's tree is left to reach */
    if (chdir(VMM_ROOT) < 0) die(125, "cannot change to", VMM_ROOT);
    if (syscall(SYS_pivot_root, ".", ".") < 0) die(125, "pivot_root", VMM_ROOT);
    if (umount2(".", MNT_DETACH) < 0) die(125, "cannot detach the old root", NULL);
    if (chdir("/") < 0) die(125, "cannot change to /", NULL);

    for (int c = 0; c <= LAST_CAP; c++) {
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            die(125, "cannot drop a capability from the bounding set", NULL);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        die(125, "cannot clear the ambient capabilities", NULL);
    if (setgroups((size_t) ngroups, groups) < 0) die(125, "cannot set the groups", argv[4]);
    if (setresgid(gid, gid, gid) < 0) die(125, "cannot become the group", argv[3]);
    if (setresuid(uid, uid, uid) < 0) die(125, "cannot become the user", argv[2]);
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct none[2];
    memset(none, 0, sizeof none);
    if (syscall(SYS_capset, &h, none) < 0) die(125, "cannot clear the capabilities", NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(125, "cannot set no_new_privs", NULL);
    if (syscall(SYS_close_range, 3, ~0U, 0) < 0) {
        for (int fd = 3; fd < 1024; fd++) close(fd);
    }
    execv(argv[i + 1], argv + i + 1);
    return exec_failed("execv", argv[i + 1]);
}

/*
 *   davit-exec userns UID GID
 *
 * As host root: becomes host UID and GID (no groups, no capabilities), unshares a user namespace (which UID then
 * owns) and waits until its standard input ends. davit writes the namespace's maps and joins it meanwhile (see
 * jail.UserNamespace).
 */
static int userns_main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "davit-exec: usage: davit-exec userns UID GID\n");
        return 125;
    }
    uid_t uid = (uid_t) strtoul(argv[2], NULL, 10);
    gid_t gid = (gid_t) strtoul(argv[3], NULL, 10);
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        die(125, "cannot become the namespace's owner", argv[2]);
    if (unshare(CLONE_NEWUSER) < 0) die(125, "unshare(CLONE_NEWUSER)", NULL);
    char buf[256];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n > 0 || (n < 0 && errno == EINTR)) continue;
        return 0;
    }
}

/* ---- files mode: the descriptor broker of dev.davit.sandbox.fs on Java 21 (see docs/reference/WORKSPACES.md) ----
 *
 *   davit-exec files
 *
 * Java 21 has no way to call openat2(2) or to hold a directory descriptor; this process does both for davit's JVM,
 * which started it and reaches each descriptor it holds through /proc/PID/fd/N (the kernel's handle on that very
 * file). Requests on stdin, one at a time, each with a number ID its answer repeats; a string comes as a length on
 * the request's line, then exactly that many bytes (always read, even when too long for a path: ENAMETOOLONG):
 *
 *   o ID DIRFD FLAGS RESOLVE LEN [MODE]\nPATH  openat2(DIRFD, PATH, {FLAGS, MODE, RESOLVE})  -> ok ID FD
 *   c ID FD                             close(FD)                                    -> ok ID
 *   s ID FD                             statx(FD, "", AT_EMPTY_PATH|NOFOLLOW)        -> ok ID MODE SIZE BLOCKS NLINK
 *                                                                                       UID GID INO DEVMAJ DEVMIN SEC NSEC
 *                                                                                       RDEVMAJ RDEVMIN
 *   l ID FD DIRFD LEN\nNAME             linkat of FD's file as NAME in DIRFD          -> ok ID
 *   k ID FD OFFSET WHENCE               lseek(FD, OFFSET, WHENCE)                    -> ok ID POSITION
 *   x ID DIRFD NLEN ALEN\nNAME ATTR     lgetxattr of entry NAME of DIRFD (one name)  -> ok ID N\nBYTES
 *   z ID DIRFD NLEN ALEN VLEN\nNAME ATTR VALUE   lsetxattr of entry NAME of DIRFD       -> ok ID
 *
 * When the JVM cannot act on the descriptors itself (this process runs in a user namespace where it may change files
 * the JVM's user may not: a rootless sandbox's subordinate ids), it asks for every change, and the bytes it reads;
 * NAME is always one name (no '/', not . or ..), and an answer with bytes sends exactly N of them after its line:
 *
 *   m ID DIRFD MODE LEN\nNAME           mkdirat                                       -> ok ID
 *   y ID DIRFD TLEN NLEN\nTARGET NAME    symlinkat(TARGET, DIRFD, NAME)                -> ok ID
 *   r ID DIRFD LEN\nNAME                readlinkat                                    -> ok ID N\nBYTES
 *   d ID FD                             getdents64 of FD (open for reading): the next  -> ok ID N\nNAMES
 *                                       names, each ended by NUL (no . or ..); N 0 at the end
 *   p ID FD OFFSET LEN                  pread of at most LEN (<= 1 MiB) bytes          -> ok ID N\nBYTES
 *   h ID FD MODE                        chmod of FD's file (an O_PATH descriptor)      -> ok ID
 *   t ID FD SEC NSEC                    its modification time (access time kept)       -> ok ID
 *   w ID DIRFD UID GID LEN\nNAME        fchownat(..., AT_SYMLINK_NOFOLLOW)             -> ok ID
 *   n ID FD TOFD LEN TOLEN\nNAME TONAME renameat                                      -> ok ID
 *   u ID DIRFD FLAGS LEN\nNAME          unlinkat (FLAGS: 0 or AT_REMOVEDIR)            -> ok ID
 *   f ID FD                             fsync of FD's file                             -> ok ID
 *
 * A failure answers "err ID ERRNO"; a request it does not understand ends it (the JVM then stops using it). It ends
 * when stdin does (its JVM is gone). */

static int read_exact(char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(0, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t) r;
    }
    return 0;
}

/* One request line (without its newline); a line too long is read to its end and answered as invalid. */
static int read_line(char *buf, size_t cap, int *too_long) {
    size_t n = 0;
    *too_long = 0;
    for (;;) {
        char c;
        ssize_t r = read(0, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        if (c == '\n') {
            buf[n < cap ? n : cap - 1] = 0;
            return 0;
        }
        if (n + 1 < cap) buf[n] = c;
        else *too_long = 1;
        n++;
    }
}

/* All of buf to stdout (the JVM), or the end of this helper. */
static void write_all(const char *buf, size_t n) {
    for (size_t off = 0; off < n; ) {
        ssize_t w = write(1, buf + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) exit(1);
        off += (size_t) w;
    }
}

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void answer(const char *fmt, ...) {
    char out[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof out, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof out) n = 0;
    write_all(out, (size_t) n);
}

/* Reads a request's LEN bytes of string into path (NUL-terminated); more than fit are read and dropped. */
static int read_string(char *path, size_t cap, long long len, int *fits) {
    *fits = len >= 0 && (size_t) len < cap;
    if (len < 0) return 0;
    if (*fits) {
        if (read_exact(path, (size_t) len) < 0) return -1;
        path[len] = 0;
        return 0;
    }
    char sink[4096];
    for (long long left = len; left > 0; ) {
        size_t k = left > (long long) sizeof sink ? sizeof sink : (size_t) left;
        if (read_exact(sink, k) < 0) return -1;
        left -= (long long) k;
    }
    return 0;
}


/* An answer with bytes: its line, then exactly n bytes. */
static void answer_bytes(long long id, const char *buf, size_t n) {
    answer("ok %lld %zu\n", id, n);
    write_all(buf, n);
}

/* One name of a directory, as the requests give it: not empty, not . or .., no '/'. */
static int one_name(const char *name) {
    return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

/* Reads a request's string that must be one name into buf; answers the error itself and returns 0 when it is not
 * (-1 when the input ended). */
static int read_name(char *buf, size_t cap, long long len, long long id) {
    int fits;
    if (read_string(buf, cap, len, &fits) < 0) return -1;
    if (!fits) {
        answer("err %lld %d\n", id, ENAMETOOLONG);
        return 0;
    }
    if (!one_name(buf) || strlen(buf) != (size_t) len) {
        answer("err %lld %d\n", id, EINVAL);
        return 0;
    }
    return 1;
}

static void answer_rc(long long id, long rc) {
    if (rc < 0) answer("err %lld %d\n", id, errno);
    else answer("ok %lld\n", id);
}

static int files_main(void) {
    static char path[8192];
    char line[256];
    int too_long;
    signal(SIGPIPE, SIG_DFL);
    while (read_line(line, sizeof line, &too_long) == 0) {
        long long id = 0, a = 0, b = 0, c = 0, d = 0, e = 0;
        char op = line[0];
        int n = too_long ? 0 : sscanf(line + 1, "%lld %lld %lld %lld %lld %lld", &id, &a, &b, &c, &d, &e);
        long rc;
        int fits;
        if (op == 'o' && (n == 5 || n == 6)) {
            if (read_string(path, sizeof path, d, &fits) < 0) return 1;
            if (!fits) {
                answer("err %lld %d\n", id, ENAMETOOLONG);
                continue;
            }
            struct open_how how = { .flags = (uint64_t) b, .mode = n == 6 ? (uint64_t) e : 0,
                                    .resolve = (uint64_t) c };
            /* EAGAIN: a rename raced the resolution, try again; but at most 100 times, as an O_NONBLOCK open of a
             * file the sandbox holds a lease on says EAGAIN too, each time, until the lease breaks (45 s) */
            int tries = 0;
            do rc = syscall(SYS_openat2, (int) a, path, &how, sizeof how);
            while (rc < 0 && errno == EAGAIN && ++tries < 100);
            if (rc < 0) answer("err %lld %d\n", id, errno);
            else answer("ok %lld %ld\n", id, rc);
        } else if (op == 'c' && n == 2) {
            close((int) a);
            answer("ok %lld\n", id);
        } else if (op == 's' && n == 2) {
            struct statx st;
            if (syscall(SYS_statx, (int) a, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, 0x7ff, &st) < 0) {
                answer("err %lld %d\n", id, errno);
            } else {
                answer("ok %lld %u %llu %llu %u %u %u %llu %u %u %lld %u %u %u\n", id, (unsigned) st.stx_mode,
                       (unsigned long long) st.stx_size, (unsigned long long) st.stx_blocks, st.stx_nlink,
                       st.stx_uid, st.stx_gid, (unsigned long long) st.stx_ino, st.stx_dev_major, st.stx_dev_minor,
                       (long long) st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec, st.stx_rdev_major,
                       st.stx_rdev_minor);
            }
        } else if (op == 'l' && n == 4) {
            if (read_string(path, sizeof path, c, &fits) < 0) return 1;
            if (!fits) {
                answer("err %lld %d\n", id, ENAMETOOLONG);
                continue;
            }
            char from[64];
            snprintf(from, sizeof from, "/proc/self/fd/%d", (int) a);
            if (linkat(AT_FDCWD, from, (int) b, path, AT_SYMLINK_FOLLOW) < 0) answer("err %lld %d\n", id, errno);
            else answer("ok %lld\n", id);
        } else if (op == 'k' && n == 4) {
            off_t pos = lseek((int) a, (off_t) b, (int) c);
            if (pos < 0) answer("err %lld %d\n", id, errno);
            else answer("ok %lld %lld\n", id, (long long) pos);
        } else if (op == 'm' && n == 4) {
            int r = read_name(path, sizeof path, c, id);
            if (r < 0) return 1;
            if (r) answer_rc(id, mkdirat((int) a, path, (mode_t) b));
        } else if (op == 'y' && n == 4) {
            /* the target is any text (never resolved here); the name one name */
            static char target[8192];
            if (read_string(target, sizeof target, b, &fits) < 0) return 1;
            int r = read_name(path, sizeof path, c, id);
            if (r < 0) return 1;
            if (!r) continue;
            if (!fits || strlen(target) != (size_t) b) answer("err %lld %d\n", id, fits ? EINVAL : ENAMETOOLONG);
            else answer_rc(id, symlinkat(target, (int) a, path));
        } else if (op == 'x' && n == 4) {
            /* the entry is one name of the held directory, reached through its /proc entry; never followed */
            static char attr[256];
            static char value[4096];
            int r = read_name(path, sizeof path, b, id);
            if (r < 0) return 1;
            if (read_string(attr, sizeof attr, c, &fits) < 0) return 1;
            if (!r) continue;
            if (!fits) {
                answer("err %lld %d\n", id, ENAMETOOLONG);
                continue;
            }
            static char at[sizeof path + 64];
            snprintf(at, sizeof at, "/proc/self/fd/%d/%s", (int) a, path);
            ssize_t got = lgetxattr(at, attr, value, sizeof value);
            if (got < 0) answer("err %lld %d\n", id, errno);
            else answer_bytes(id, value, (size_t) got);
        } else if (op == 'z' && n == 5) {
            static char attr[256];
            static char value[4096];
            int fits2, fits3;
            int r = read_name(path, sizeof path, b, id);
            if (r < 0) return 1;
            if (read_string(attr, sizeof attr, c, &fits2) < 0) return 1;
            if (read_string(value, sizeof value, d, &fits3) < 0) return 1;
            if (!r) continue;
            if (!fits2 || !fits3) {
                answer("err %lld %d\n", id, ENAMETOOLONG);
                continue;
            }
            static char at[sizeof path + 64];
            snprintf(at, sizeof at, "/proc/self/fd/%d/%s", (int) a, path);
            answer_rc(id, lsetxattr(at, attr, value, (size_t) d, 0));
        } else if (op == 'r' && n == 3) {
            int r = read_name(path, sizeof path, b, id);
            if (r < 0) return 1;
            if (!r) continue;
            static char target[8192];
            ssize_t got = readlinkat((int) a, path, target, sizeof target);
            if (got < 0) answer("err %lld %d\n", id, errno);
            else if ((size_t) got == sizeof target) answer("err %lld %d\n", id, ENAMETOOLONG);
            else answer_bytes(id, target, (size_t) got);
        } else if (op == 'd' && n == 2) {
            static char dents[32768];
            static char names[32768];
            long got = syscall(SYS_getdents64, (int) a, dents, sizeof dents);
            if (got < 0) {
                answer("err %lld %d\n", id, errno);
                continue;
            }
            size_t out = 0;
            for (long off = 0; off < got; ) {
                struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *de =
                    (void *) (dents + off);
                off += de->reclen;
                if (!strcmp(de->name, ".") || !strcmp(de->name, "..")) continue;
                size_t len = strlen(de->name) + 1;
                memcpy(names + out, de->name, len); /* a record is longer than its name: the names fit */
                out += len;
            }
            answer_bytes(id, names, out);
        } else if (op == 'p' && n == 4) {
            static char data[1 << 20];
            size_t want = c < 0 ? 0 : c > (long long) sizeof data ? sizeof data : (size_t) c;
            ssize_t got;
            do got = pread((int) a, data, want, (off_t) b); while (got < 0 && errno == EINTR);
            if (got < 0) answer("err %lld %d\n", id, errno);
            else answer_bytes(id, data, (size_t) got);
        } else if ((op == 'h' && n == 3) || (op == 't' && n == 4) || (op == 'f' && n == 2)) {
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", (int) a);
            if (op == 'h') {
                answer_rc(id, chmod(self, (mode_t) b));
            } else if (op == 't') {
                struct timespec ts[2] = { { .tv_sec = 0, .tv_nsec = UTIME_OMIT }, { .tv_sec = b, .tv_nsec = c } };
                answer_rc(id, utimensat(AT_FDCWD, self, ts, 0));
            } else {
                int rd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                if (rd < 0) {
                    answer("err %lld %d\n", id, errno);
                    continue;
                }
                long rc = fsync(rd);
                int saved = errno;
                close(rd);
                errno = saved;
                answer_rc(id, rc);
            }
        } else if (op == 'w' && n == 5) {
            int r = read_name(path, sizeof path, d, id);
            if (r < 0) return 1;
            if (r) answer_rc(id, fchownat((int) a, path, (uid_t) b, (gid_t) c, AT_SYMLINK_NOFOLLOW));
        } else if (op == 'n' && n == 5) {
            static char to[8192];
            int fits2;
            if (read_string(path, sizeof path, c, &fits) < 0 || read_string(to, sizeof to, d, &fits2) < 0) return 1;
            if (!fits || !fits2) answer("err %lld %d\n", id, ENAMETOOLONG);
            else if (!one_name(path) || !one_name(to) || strlen(path) != (size_t) c || strlen(to) != (size_t) d)
                answer("err %lld %d\n", id, EINVAL);
            else answer_rc(id, renameat((int) a, path, (int) b, to));
        } else if (op == 'u' && n == 4) {
            int r = read_name(path, sizeof path, c, id);
            if (r < 0) return 1;
            if (r) answer_rc(id, unlinkat((int) a, path, (int) (b & AT_REMOVEDIR)));
        } else {
            /* not a request this mode knows: the JVM treats the answer as the end of this helper */
            answer("err %lld %d\n", id, EINVAL);
            return 1;
        }
    }
    return 0;
}

/* ---- with: the host's steps before jail or exec, in this process (see Jail.withSteps) ---- */

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

static int run_mode(int argc, char **argv);

/*
 *   davit-exec with [--session] [--cgroup-failed MARKER] [--cgroup PROCS]... [--cpus LIST] -- jail|exec ARGS...
 *
 * The steps the host's programs took before jail or exec (setsid, the cgroup join's sh, taskset), in their order and
 * in this same process: a session of its own, this process written to each PROCS (a cgroup's cgroup.procs; one that
 * fails creates MARKER and exits 125), the CPUs of LIST; then the mode, which resets every signal's disposition
 * before it runs its command (as env --default-signal did before the sh).
 */
static int with_main(int argc, char **argv) {
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
        } else {
            return usage("unknown step ", argv[i]);
        }
    }
    if (i + 1 >= argc || (strcmp(argv[i + 1], "jail") != 0 && strcmp(argv[i + 1], "exec") != 0))
        return usage("with: jail or exec must follow --", NULL);
    argv[i] = argv[0];
    return run_mode(argc - i, argv + i);
}

/* jail or exec, as ARGV[1] says (after with's steps) */
static int run_mode(int argc, char **argv) {
    if (!strcmp(argv[1], "jail")) return jail_main(argc, argv);
    return exec_main(argc - 1, argv + 1);
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
