#!/usr/bin/env bash
# Measures the NAT candidates for --network (see docs/BENCHMARKS.md): for slirp4netns and pasta, the time from a
# new network namespace to a configured default route (what a sandbox waits for before its command runs), and the
# TCP throughput of one download from a host address through it. Needs root, slirp4netns, passt (pasta), python3.
# Usage: bench/network.sh [MiB (default 256)] [runs (default 5)]
set -euo pipefail
mib=${1:-256}; runs=${2:-5}
addr=$(ip -4 route get 1.1.1.1 | awk '{for (i=1;i<NF;i++) if ($i=="src") print $(i+1)}')
tmp=$(mktemp -d); trap 'kill $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
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
wait_route='until [ -n "$(ip -4 route show default)" ]; do sleep 0.002; done'
one() { # $1: slirp4netns|pasta; prints "setup_ms MiB/s"
  local t0 t1 t2 pid
  t0=$(date +%s%N)
  unshare --net -- sh -c "$wait_route; date +%s%N > $tmp/up; exec busybox nc $addr $port > /dev/null" & pid=$!
  until [ "$(readlink /proc/$pid/ns/net 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ]; do sleep 0.001; done
  case $1 in
    slirp4netns) slirp4netns --configure --mtu=65520 --disable-host-loopback $pid tap0 >/dev/null 2>&1 & helper=$! ;;
    pasta) pasta --config-net -4 --no-map-gw -q --netns /proc/$pid/ns/net >/dev/null 2>&1 || { kill $pid; echo "failed"; return; }; helper="" ;;
  esac
  wait $pid; t2=$(date +%s%N); t1=$(cat "$tmp/up")
  [ -n "$helper" ] && kill $helper 2>/dev/null
  echo "$(( (t1 - t0) / 1000000 )) $(( mib * 1000000000 / (t2 - t1) ))"
}
for tool in slirp4netns pasta; do
  command -v $tool >/dev/null || { echo "$tool: not installed"; continue; }
  for i in $(seq "$runs"); do echo "$tool $(one $tool)"; done
done
