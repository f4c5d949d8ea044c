/* ---- vmm mode: a VMM's own root (see docs/reference/sandbox/VM.md, "The VMM") ---- */

#include "davit-exec.h"

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
int vmm_main(int argc, char **argv) {
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
