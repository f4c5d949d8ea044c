# scripts/cluster.sh's down (sourced by it): stops the cluster; nothing of it stays running, mounted or linked.

down() {
  need_root
  [ -d "$STATE" ] || { say "not up"; return 0; }
  KUBE=${KUBE:-$(sed -n 's/^DAVIT_CLUSTER_KUBE=//p' "$ENV_FILE" 2>/dev/null || true)}
  local n d name shims
  # Pods first, while the kubelet is there to stop them properly (their network torn down by the CNI plugins): with
  # the controllers gone nothing makes new ones.
  stop agent-sandbox-controller kube-controller-manager kube-scheduler kube-network-policies
  if alive kube-apiserver && [ -x "${KUBE:-}" ]; then
    kctl delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
    for n in $(seq 0 100); do
      [ -z "$(kctl get pods -A -o name 2>/dev/null)" ] && break
      sleep 0.3
    done
  fi
  # the nodes, then the API server, then etcd (an API server whose etcd went first takes long to end)
  stop $(cd "$STATE/pids" 2>/dev/null && ls -d kubelet-* containerd-* registry 2>/dev/null)
  stop kube-apiserver
  stop $(ls "$STATE/pids" 2>/dev/null)
  # Whatever is left of the pods: the shims of our containerds and the containers under them.
  shims=$(pgrep -f "containerd-shim-runc-v2 .*-address $STATE/" || true)
  for p in $shims; do kill_tree "$p"; done
  # Everything mounted under the state directory (the pods' volumes and rootfs, shm, network namespaces, the
  # kubelet's own bind mount of its root), deepest first.
  local m
  for _ in 1 2 3; do
    m=$(awk -v s="$STATE/" 'index($2, s) == 1 { print $2 }' /proc/self/mounts | sort -r)
    [ -n "$m" ] || break
    for p in $m; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; done
  done
  for d in "$STATE"/nodes/*/; do
    [ -d "$d" ] || continue
    name=$(basename "$d"); n=${name##*-}
    ip link del "$(node_bridge "$n")" 2>/dev/null || true
    ip addr del "$(node_ip "$n")/32" dev lo 2>/dev/null || true
  done
  # the pods' cgroups (empty now), deepest first
  find /sys/fs/cgroup/*/davit-cluster -depth -type d -exec rmdir {} + 2>/dev/null || true
  # The kubelet's netfilter chains: KUBE-KUBELET-CANARY (to notice a flush), KUBE-IPTABLES-HINT (which iptables
  # mode) and KUBE-FIREWALL (drops packets to 127.0.0.0/8 from other addresses); no kube-proxy here shares them.
  for ipt in iptables ip6tables; do
    for table in mangle nat filter; do $ipt -t "$table" -X KUBE-KUBELET-CANARY 2>/dev/null || true; done
    $ipt -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null || true
    for chain in INPUT OUTPUT; do while $ipt -D "$chain" -j KUBE-FIREWALL 2>/dev/null; do :; done; done
    $ipt -F KUBE-FIREWALL 2>/dev/null && $ipt -X KUBE-FIREWALL 2>/dev/null || true
  done
  netpol_rules_delete
  # portmap's shared chains (hostPort), once no pod's rules are left in them (each pod's own went with it)
  if iptables -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1 && ! iptables -t nat -S CNI-HOSTPORT-DNAT | grep -q '^-A'; then
    local rule
    iptables -t nat -S | grep -E '^-A (PREROUTING|OUTPUT|POSTROUTING) .*-j CNI-HOSTPORT-(DNAT|MASQ)$' | while read -r rule; do
      eval "iptables -t nat ${rule/#-A/-D}" || true
    done
    for chain in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do
      iptables -t nat -F "$chain" 2>/dev/null || true; iptables -t nat -X "$chain" 2>/dev/null || true
    done
  fi
  # The kubelet links each container's log into /var/log/containers (a fixed path, for log collectors); ours point
  # under the state directory. The directory too, if the kubelet made it.
  for l in /var/log/containers/*.log; do
    [ -L "$l" ] && case "$(readlink "$l")" in "$STATE"/*) rm -f "$l" ;; esac
  done
  [ ! -f "$STATE/made-var-log-containers" ] || rmdir /var/log/containers 2>/dev/null || true
  if [ -f "$STATE/sysctl.saved" ]; then
    while IFS='=' read -r k v; do sysctl -qw "$k=$v" 2>/dev/null || true; done <"$STATE/sysctl.saved"
  fi
  if [ -f "$STATE/loaded-modules" ]; then
    while read -r m; do modprobe -r "$m" 2>/dev/null || true; done <"$STATE/loaded-modules"
  fi
  # All of it but the logs (for a look after a failure).
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  m=$(awk -v s="$STATE/" 'index($2, s) == 1 { print $2 }' /proc/self/mounts)
  [ -z "$m" ] || die "still mounted under $STATE: $m"
  say "down"
}
