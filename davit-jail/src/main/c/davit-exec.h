/*
 * davit-exec's shared declarations (what the program does: davit-exec.c). One binary, statically linked, built from
 * these files (davit-jail/pom.xml, profile exec-helper), one mode each:
 *
 *   davit-exec.c  main, which picks the mode, and the error and signal helpers every mode uses
 *   mode-with.c   with: the host's steps before jail or exec (a session, the cgroup join, the CPUs)
 *   mode-exec.c   exec: a command exec'd into a jailed long-lived sandbox, in its keeper's namespaces
 *   mode-jail.c   jail: the sandbox's private mount namespace; userns: the user namespace davit maps and joins
 *   mode-vmm.c    vmm: a VMM's own root
 *   mode-files.c  files: the descriptor broker of dev.davit.sandbox.fs on Java 21
 */
#ifndef DAVIT_EXEC_H
#define DAVIT_EXEC_H

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
#include <sys/socket.h>
#include <sys/un.h>

#define LAST_CAP 63
#define JAIL_DIR "/run/davit"

/* davit-exec.c: a failure's one line on stderr and its exit code, every signal reset before a command runs */
void die(int code, const char *what, const char *arg);
int usage(const char *what, const char *arg);
void reset_signals(void);
int exec_failed(const char *how, const char *command);
/* mode-jail.c, for the vmm mode too: the mount point POINT, a directory when LIKE is one, else an empty file */
void mkpoint(const char *point, const char *like);

/* mode-with.c's --listen and --program steps, for exec mode: a listening socket bound on the host (-1: none), given
 * to the command as descriptor 3, and a host program to execute in place of one looked up in the sandbox (-1: none) */
extern int listen_fd;
extern int program_fd;

/* each mode's entry, as main or with starts it */
int with_main(int argc, char **argv);
int exec_main(int argc, char **argv);
int jail_main(int argc, char **argv);
int vmm_main(int argc, char **argv);
int userns_main(int argc, char **argv);
int files_main(void);

#endif
