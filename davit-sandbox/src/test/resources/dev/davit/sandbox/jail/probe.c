/*
 * davit's sandbox probe: run ONLY inside a sandbox (never on the host: as host root its attempts would act on the
 * host). Prints what the sandbox's root may do, one "name=result" line each: "ok", or the errno's name.
 * Nothing it tries is harmful when it succeeds inside a sandbox: sysctls are written back with their own value.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>

static void report(const char *name, long rc) {
    if (rc >= 0) printf("%s=ok\n", name);
    else printf("%s=%s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
}

static void status(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "CapEff:", 7) || !strncmp(line, "CapBnd:", 7) || !strncmp(line, "CapAmb:", 7)
                || !strncmp(line, "NoNewPrivs:", 11) || !strncmp(line, "Seccomp:", 8)) {
            char *c = strchr(line, ':');
            *c = '=';
            char *v = c + 1;
            while (*v == '\t' || *v == ' ') memmove(v, v + 1, strlen(v));
            fputs(line, stdout);
        }
    }
    if (f) fclose(f);
    f = fopen("/proc/self/uid_map", "r");
    long in, out, n;
    if (f && fscanf(f, "%ld %ld %ld", &in, &out, &n) == 3) printf("uid_map=%ld %ld %ld\n", in, out, n);
    if (f) fclose(f);
    printf("uid=%d\n", (int) getuid());
}

/* opens a sysctl for writing and writes its own value back */
static void rewrite(const char *name, const char *path) {
    char buf[4096];
    int r = open(path, O_RDONLY);
    ssize_t n = r < 0 ? -1 : read(r, buf, sizeof buf);
    if (r >= 0) close(r);
    int w = open(path, O_WRONLY);
    if (w < 0) { report(name, -1); return; }
    long rc = n > 0 ? write(w, buf, (size_t) n) : -1;
    int e = errno;
    close(w);
    errno = e;
    report(name, rc);
}

int main(int argc, char **argv) {
    status();
    report("unshare_user", unshare(CLONE_NEWUSER));
    report("unshare_mount", unshare(CLONE_NEWNS));
    report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
    report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
    report("add_key", syscall(SYS_add_key, "user", "davit-probe", "x", 1, -2 /* process keyring */));
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.size = sizeof pe;
    pe.type = PERF_TYPE_SOFTWARE;
    pe.config = PERF_COUNT_SW_CPU_CLOCK;
    report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
    char params[120];
    memset(params, 0, sizeof params);
    report("io_uring_setup", syscall(SYS_io_uring_setup, 1, params));
    report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY));
    report("bpf", syscall(SYS_bpf, 0, NULL, 0));
    report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    report("init_module", syscall(SYS_init_module, NULL, 0, ""));
    report("clone3", syscall(SYS_clone3, NULL, 0));
    report("setns", syscall(SYS_setns, 0, 0));
    report("sethostname", sethostname("probe", 5));
    rewrite("core_pattern", "/proc/sys/kernel/core_pattern");
    rewrite("suid_dumpable", "/proc/sys/fs/suid_dumpable");
    int s = open("/proc/sysrq-trigger", O_WRONLY);
    report("sysrq_trigger", s);
    if (s >= 0) close(s);
    /* the host's session keyring (KEY_SPEC_SESSION_KEYRING) and root's user keyring, read by id if given */
    for (int i = 1; i < argc; i++) {
        char name[64];
        snprintf(name, sizeof name, "read_key_%s", argv[i]);
        char buf[256];
        report(name, syscall(SYS_keyctl, 11 /* KEYCTL_READ */, strtol(argv[i], NULL, 10), buf, sizeof buf));
    }
    return 0;
}
