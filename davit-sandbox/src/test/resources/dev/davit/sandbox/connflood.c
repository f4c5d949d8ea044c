/*
 * EgressAttackTest's flood of connections, run in a sandbox: connflood ADDRESS PORT TOTAL HOLD_MS opens TOTAL TCP
 * connections to ADDRESS:PORT as fast as it can (non-blocking connects, none waited for), holding as many at once as
 * its descriptors allow (at most 4,096; the oldest closed to make room), then holds the last ones HOLD_MS and says
 * how many it opened. What a sandbox's program could do to its gate without busybox's one process per connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: connflood ADDRESS PORT TOTAL HOLD_MS\n");
        return 2;
    }
    int port = atoi(argv[2]), total = atoi(argv[3]), hold = atoi(argv[4]);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short) port);
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "connflood: not an IPv4 address: %s\n", argv[1]);
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    int cap = rl.rlim_cur > 4096 + 16 ? 4096 : (int) rl.rlim_cur - 16;
    int *fds = calloc((size_t) cap, sizeof(int));
    int held = 0, first = 0, opened = 0, failed = 0;
    for (int i = 0; i < total; i++) {
        if (held == cap) {
            close(fds[first]);
            first = (first + 1) % cap;
            held--;
        }
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            failed++;
            continue;
        }
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS) {
            failed++;
            close(fd);
            continue;
        }
        fds[(first + held) % cap] = fd;
        held++;
        opened++;
    }
    usleep((useconds_t) hold * 1000);
    printf("opened=%d failed=%d held=%d\n", opened, failed, held);
    return 0;
}
