/* ---- jail mode: the sandbox's private mount namespace (see docs/reference/sandbox/JAIL.md, "The jail") ---- */

#include "davit-exec.h"

void mkpoint(const char *point, const char *like) {
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
int jail_main(int argc, char **argv) {
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

/*
 *   davit-exec userns UID GID
 *
 * As host root: becomes host UID and GID (no groups, no capabilities), unshares a user namespace (which UID then
 * owns) and waits until its standard input ends. davit writes the namespace's maps and joins it meanwhile (see
 * jail.UserNamespace).
 */
int userns_main(int argc, char **argv) {
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
