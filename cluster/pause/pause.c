/* The pod sandbox's first process for scripts/cluster.sh's cluster (containerd's sandbox_image): it holds the pod's
 * namespaces open, does nothing else, reaps the zombies a shared process namespace hands it, and ends on SIGINT or
 * SIGTERM. Our own, so the cluster needs no image from registry.k8s.io (unreachable here). Built with gcc -static. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig) { (void)sig; stop = 1; }
static void on_child(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGTERM, &sa, 0);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, 0);
    sigset_t mask, none;
    sigfillset(&mask);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &mask, 0); /* signals arrive only inside sigsuspend, so none is lost between checks */
    while (!stop) sigsuspend(&none);
    return 0;
}
