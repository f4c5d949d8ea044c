/* ---- files mode: the descriptor broker of dev.davit.sandbox.fs on Java 21 (see docs/reference/workspaces/FILES.md, "The boundary") ----
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

#include "davit-exec.h"

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

int files_main(void) {
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
