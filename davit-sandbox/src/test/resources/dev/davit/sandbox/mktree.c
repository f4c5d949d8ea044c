/* Review PoC helper, run inside a sandbox: mktree NAMES NFILES makes the directories named in file NAMES (NUL
 * separated) one inside the other and, in the last, NFILES empty files "0".."N-1" (NFILES 0: the last name is a
 * file); mktree -r NAME deletes tree NAME at any depth (through descriptors). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void rmtree(int dfd, const char *name) {
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0) {
        unlinkat(dfd, name, 0);
        return;
    }
    for (;;) {
        int again = 0;
        int d2 = dup(fd);
        DIR *d = fdopendir(d2);
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            rmtree(fd, e->d_name);
            again = 1;
        }
        closedir(d);
        lseek(fd, 0, SEEK_SET);
        if (!again) break;
    }
    close(fd);
    unlinkat(dfd, name, AT_REMOVEDIR);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "-r")) {
        rmtree(AT_FDCWD, argv[2]);
        return 0;
    }
    static char buf[1 << 20];
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("names"); return 1; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    int nf = atoi(argv[2]);
    static char *names[4096];
    int k = 0;
    for (char *p = buf; p < buf + n; p += strlen(p) + 1) names[k++] = p;
    int dirs = nf > 0 ? k : k - 1;
    for (int i = 0; i < dirs; i++) {
        if (mkdir(names[i], 0755) < 0 && errno != EEXIST) { perror("mkdir"); return 1; }
        if (chdir(names[i]) < 0) { perror("chdir"); return 1; }
    }
    if (nf > 0) {
        for (int i = 0; i < nf; i++) {
            char f[32];
            snprintf(f, sizeof f, "%d", i);
            close(open(f, O_CREAT | O_WRONLY, 0644));
        }
    } else {
        int f = open(names[k - 1], O_CREAT | O_WRONLY, 0644);
        if (f < 0) { perror("file"); return 1; }
        close(f);
    }
    return 0;
}
