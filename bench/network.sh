#!/usr/bin/env bash
# Measures the NAT candidates for --network (see docs/reference/benchmarks/SANDBOX.md): for slirp4netns as davit ran it before issue 33
# (as root, unconfined), slirp4netns as davit runs it now (as root: a uid of the davit-net range, in a user namespace
# of its own, --enable-sandbox --enable-seccomp) and pasta, the time from a new network namespace to a configured
# default route (what a sandbox waits for before its command runs), and the TCP throughput of one download from a
# host address through it. Needs root, slirp4netns, passt (pasta), python3, and for the confined way davit's
# davit-net range in /etc/subuid (any davit run with --network as root adds it).
# Usage: bench/network.sh [MiB (default 256; 0: the set-up alone, no traffic leaves the host)] [runs (default 5)]
set -euo pipefail
mib=${1:-256}; runs=${2:-5}
tmp=$(mktemp -d); srv=; trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
if [ "$mib" -gt 0 ]; then
  addr=$(ip -4 route get 1.1.1.1 | awk '{for (i=1;i<NF;i++) if ($i=="src") print $(i+1)}')
  python3 - "$addr" "$mib" > "$tmp/port" <<'PY' & srv=$!
import socket, sys, threading
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(8); print(s.getsockname()[1], flush=True)
chunk = b"\0" * (1 << 20)
def send(c):
    with c:
        for _ in range(int(sys.argv[2])): c.sendall(chunk)
while True:
    c, _ = s.accept(); threading.Thread(target=send, args=(c,), daemon=True).start()
PY
  while [ ! -s "$tmp/port" ]; do sleep 0.05; done; port=$(cat "$tmp/port")
  work="exec busybox nc $addr $port > /dev/null"
else
  work="true"
fi
wait_route='until [ -n "$(ip -4 route show default)" ]; do sleep 0.002; done'
net_uid=$(awk -F: '$1 == "davit-net" {print $2 + 1; exit}' /etc/subuid)
one() { # $1: slirp4netns|slirp4netns-confined|pasta; prints "setup_ms MiB/s"
  local t0 t1 t2 pid holder=
  t0=$(date +%s%N)
  if [ "$1" = slirp4netns-confined ]; then
    # davit's way as root: the holder of a user and network namespace of the uid, the command joining the latter
    setpriv --reuid="$net_uid" --regid="$net_uid" --clear-groups -- unshare --user --map-root-user --net -- \
      sleep 600 & holder=$!
    until [ "$(cat /proc/$holder/comm 2>/dev/null)" = sleep ]; do sleep 0.001; done
    nsenter --net=/proc/$holder/ns/net -- sh -c "$wait_route; date +%s%N > $tmp/up; $work" & pid=$!
    unshare --mount --propagation private -- sh -c 'mount -t tmpfs -o mode=0755,size=64k,nosuid,noexec davit-net /dev/net &&
      mknod -m 0600 /dev/net/tun c 10 200 && chown "$1" /dev/net/tun && shift && exec "$@"' sh "$net_uid:$net_uid" \
      setpriv --reuid="$net_uid" --regid="$net_uid" --clear-groups --no-new-privs -- \
      nsenter --user=/proc/$holder/ns/user --preserve-credentials -- \
      slirp4netns --configure --mtu=65520 --disable-host-loopback --enable-sandbox --enable-seccomp $holder tap0 \
      >/dev/null 2>&1 & helper=$!
  else
    unshare --net -- sh -c "$wait_route; date +%s%N > $tmp/up; $work" & pid=$!
    until [ "$(readlink /proc/$pid/ns/net 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ]; do sleep 0.001; done
    case $1 in
      slirp4netns) slirp4netns --configure --mtu=65520 --disable-host-loopback $pid tap0 >/dev/null 2>&1 & helper=$! ;;
      pasta) pasta --config-net -4 --no-map-gw -q --netns /proc/$pid/ns/net >/dev/null 2>&1 || { kill $pid; echo "failed"; return; }; helper="" ;;
    esac
  fi
  wait $pid; t2=$(date +%s%N); t1=$(cat "$tmp/up")
  [ -n "$helper" ] && kill $helper 2>/dev/null
  [ -n "$holder" ] && kill $holder 2>/dev/null
  echo "$(( (t1 - t0) / 1000000 )) $([ "$mib" -gt 0 ] && echo $(( mib * 1000000000 / (t2 - t1) )) || echo -)"
}
for i in $(seq "$runs"); do # the candidates alternating in every round
  for tool in slirp4netns slirp4netns-confined pasta; do
    command -v ${tool%-confined} >/dev/null || { echo "$tool: not installed"; continue; }
    [ "$tool" = slirp4netns-confined ] && [ -z "$net_uid" ] && { echo "$tool: no davit-net range"; continue; }
    echo "$tool $(one $tool)"
  done
done
