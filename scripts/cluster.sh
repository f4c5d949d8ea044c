#!/usr/bin/env bash
# A real Kubernetes cluster on this machine for davit's k8s backend tests, made from the project's own files:
#   scripts/cluster.sh up              builds what is not built, starts the cluster, prints the kubeconfig's path last
#   scripts/cluster.sh down            stops it; nothing of it stays running, mounted or linked
#   scripts/cluster.sh kubectl ARGS…   a kubectl of the cluster's own version, with the cluster's KUBECONFIG
#   scripts/cluster.sh status          says whether it is up
#   scripts/cluster.sh build           only builds (up does it too): the binaries and images, into the cache
#   scripts/cluster.sh restart-apiserver   ends the API server and starts it again on its port (failure tests)
# Components: etcd (Debian), kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kubectl (one binary
# built from k8s.io/kubernetes, cluster/kube), containerd and runc (Debian, our own containerd instance), the CNI
# plugins (Debian), a loopback docker-registry the pods pull from over plain HTTP (with our own pause and busybox
# images in it), agent-sandbox's CRDs and controller (built from its Go module, cluster/agent-sandbox), and
# kube-network-policies' NetworkPolicy controller (built from its Go module, cluster/netpol), which the bridge plugin
# lacks: without it no NetworkPolicy would hold here.
# No kube-proxy: nothing here needs Service addresses (the API server reaches agent-sandbox's webhook by its
# endpoints, --enable-aggregator-routing; pods need no Service).
# Root only (kubelet, containerd and the CNI plugins are). State, logs and the env file the tests read are under
# $DAVIT_CLUSTER_STATE (default /var/lib/davit-cluster): cluster.env holds KUBECONFIG, DAVIT_CLUSTER_REGISTRY, ...
# Built binaries are cached per version under ${XDG_CACHE_HOME:-$HOME/.cache}/davit/cluster/<kubernetes version>.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
K8S_VERSION=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$ROOT/cluster/kube/go.mod")
AS_VERSION=$(awk '$1 == "sigs.k8s.io/agent-sandbox" { print $2; exit }' "$ROOT/cluster/agent-sandbox/go.mod")
NP_VERSION=$(awk '$1 == "sigs.k8s.io/kube-network-policies" { print $2; exit }' "$ROOT/cluster/netpol/go.mod")
# shellcheck source=../cluster/kwok/kwok.sh
. "$ROOT/cluster/kwok/kwok.sh" # simulated nodes: DAVIT_CLUSTER_SIMULATED_NODES
# shellcheck source=../cluster/down.sh
. "$ROOT/cluster/down.sh" # down: the cluster stopped and every trace of it removed
CACHE="${DAVIT_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/davit/cluster}/$K8S_VERSION"
STATE="${DAVIT_CLUSTER_STATE:-/var/lib/davit-cluster}"
ENV_FILE="$STATE/cluster.env"
LOGS="$STATE/logs"
PKI="$STATE/pki"
# How many nodes: each is its own containerd and kubelet on this machine, with its own address, bridge and pod subnet.
# Two by default, so scheduling is real (a pod's node is the scheduler's choice); idle, the second costs ~150 MB.
NODES="${DAVIT_CLUSTER_NODES:-2}"
# Addresses: none of them on the host's network (192.0.2.0/24) or the package mirrors' (203.0.113.0/24), and
# check_addresses refuses any that a route here already covers.
POD_CIDR=10.244.0.0/16        # node N's pods get 10.244.N-1.0/24 on its bridge davit-cniN
SERVICE_CIDR=10.96.0.0/16
NODE_NET=10.254.0             # node N's address is 10.254.0.N, on lo (this kernel has no dummy links)
API_SERVICE_IP=10.96.0.1      # the first address of SERVICE_CIDR: the kubernetes Service, in the serving cert
NETPOL_QUEUE=4217             # the nfqueue kube-network-policies decides (start_netpol); up refuses one in use

say() { echo "cluster: $*" >&2; }
die() { say "$*"; exit 1; }
# The last lines of a component's log, then stop: a failing component says why in its own words.
fail() {
  local name="$1"; shift
  say "$*"
  if [ -s "$LOGS/$name.log" ]; then
    echo "---- last lines of $LOGS/$name.log" >&2
    tail -n 40 "$LOGS/$name.log" >&2
    echo "----" >&2
  fi
  if [ -n "${STARTING:-}" ]; then
    say "stopping what was started; the logs stay in $LOGS"
    down >/dev/null 2>&1 || true
  fi
  exit 1
}
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kctl() { KUBECONFIG="$STATE/admin.kubeconfig" "$KUBE" kubectl "$@"; }
node_name() { echo "davit-node-$1"; }
node_ip() { echo "$NODE_NET.$1"; }
node_subnet() { echo "10.244.$(($1 - 1)).0/24"; }
node_gateway() { echo "10.244.$(($1 - 1)).1"; }
node_bridge() { echo "davit-cni$1"; }
node_dir() { echo "$STATE/nodes/$(node_name "$1")"; }

# Starts NAME in the background in its own session (so it outlives this script and no terminal signal reaches it),
# logging to $LOGS/NAME.log, its pid in $STATE/pids/NAME.
start() {
  local name="$1"; shift
  mkdir -p "$STATE/pids" "$LOGS"
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null 8>&- 9>&- & # 8, 9: the locks, which must not outlive this script
  echo $! >"$STATE/pids/$name"
}
# Whether a pid runs: a zombie has ended (PID 1 here reaps orphans only every few seconds).
running() { ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; }
alive() { [ -s "$STATE/pids/$1" ] && running "$(cat "$STATE/pids/$1")"; }
# Waits up to SECONDS for COMMAND to succeed while NAME runs; fails with NAME's log when it ends or time is up.
wait_for() {
  local name="$1" seconds="$2"; shift 2
  local end=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || fail "$name" "$name ended before it was ready"
    [ $SECONDS -lt $end ] || fail "$name" "$name was not ready within ${seconds} s"
    sleep 0.2
  done
}

# ---- preconditions

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (kubelet, containerd and the CNI plugins do); run it with sudo"; }
need_tools() {
  local missing=() t
  for t in etcd containerd containerd-shim-runc-v2 ctr runc docker-registry skopeo openssl gcc python3 curl iptables nft; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  [ -x /usr/lib/cni/bridge ] || missing+=("/usr/lib/cni/bridge (containernetworking-plugins)")
  [ -x /bin/busybox ] || missing+=("/bin/busybox (busybox-static)")
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}; run scripts/install-deps.sh"
}
# Refuses addresses a route here already covers (other than our own bridges and node addresses), so the cluster never
# shadows a network this machine uses.
check_addresses() {
  ip -4 -o route show table all | python3 -c '
import ipaddress, sys
ours = [ipaddress.ip_network(n) for n in sys.argv[1:]]
for line in sys.stdin:
    f = line.split()
    dst = f[1] if f[0] in ("local", "broadcast", "unicast") else f[0]
    if dst == "default" or "davit-cni" in line or dst.startswith("127."):
        continue
    if "dev lo" in line and dst.startswith("10.254.0."):
        continue
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        continue
    for o in ours:
        if net.overlaps(o):
            sys.exit(f"{o} overlaps the route \"{line.strip()}\" here; change POD_CIDR, SERVICE_CIDR or NODE_NET in scripts/cluster.sh")
' "$POD_CIDR" "$SERVICE_CIDR" "$NODE_NET.0/24" || die "address check failed"
}

# ---- build: the binaries, cached per version and per source

# A short hash of the files a binary is built from, so a changed go.mod or main.go builds anew.
src_hash() { cat "$@" | sha256sum | cut -c1-12; }
go_build() { # NAME DIR OUT PACKAGE [LDFLAGS]
  local name="$1" dir="$2" out="$3" pkg="$4" ldflags="-s -w ${5:-}" t; t=$(now)
  command -v go >/dev/null 2>&1 || die "go is needed to build $name (first up only); install Go 1.26 or newer"
  say "building $name (the first up on a machine builds it; later ones use $CACHE)"
  mkdir -p "$CACHE" "$LOGS"
  (cd "$dir" && go build -trimpath -ldflags="$ldflags" -o "$out.tmp" "$pkg") >"$LOGS/build-$name.log" 2>&1 \
    || fail "build-$name" "building $name failed"
  mv "$out.tmp" "$out"
  say "built $name in $(took "$t")"
}
build() {
  local d="$ROOT/cluster/kube" a="$ROOT/cluster/agent-sandbox" np="$ROOT/cluster/netpol" h
  # one build at a time (CI builds ahead while its other tests run, then asks for up)
  mkdir -p "$CACHE" && exec 8>"$CACHE.lock" && flock 8
  # The version the components report (a node's kubeletVersion, the API server's /version), as Kubernetes' own build
  # stamps it; a module build would otherwise say v0.0.0-master.
  local v x="" minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  done
  h=$( (cat "$d/go.mod" "$d/go.sum" "$d/main.go"; echo "$x") | sha256sum | cut -c1-12)
  KUBE="$CACHE/kube-$h"
  [ -x "$KUBE" ] || { rm -f "$CACHE"/kube-*; go_build kube "$d" "$KUBE" . "$x"; }
  h=$(src_hash "$a/go.mod" "$a/go.sum")
  AS_CONTROLLER="$CACHE/agent-sandbox-controller-$AS_VERSION-$h"
  AS_CRDS="$CACHE/agent-sandbox-crds-$AS_VERSION"
  if [ ! -x "$AS_CONTROLLER" ]; then
    rm -f "$CACHE"/agent-sandbox-controller-*
    go_build agent-sandbox-controller "$a" "$AS_CONTROLLER" sigs.k8s.io/agent-sandbox/cmd/agent-sandbox-controller
  fi
  if [ ! -d "$AS_CRDS" ]; then # the CRDs as the module ships them (its k8s/crds), from the module cache
    local mod; mod=$(cd "$a" && go list -m -f '{{.Dir}}' sigs.k8s.io/agent-sandbox)
    mkdir -p "$AS_CRDS.tmp" && cp "$mod"/k8s/crds/*.yaml "$AS_CRDS.tmp/" && mv "$AS_CRDS.tmp" "$AS_CRDS"
  fi
  h=$(src_hash "$np/go.mod" "$np/go.sum" "$np/main.go")
  NETPOL="$CACHE/kube-network-policies-$NP_VERSION-$h"
  [ -x "$NETPOL" ] || { rm -f "$CACHE"/kube-network-policies-*; go_build kube-network-policies "$np" "$NETPOL" .; }
  build_kwok
  build_images
  exec 8>&-
}
# The pause image (our own static pause, cluster/pause/pause.c) and a busybox image (Debian's static busybox with
# a link per applet), as OCI layouts; the registry gets them on every up.
build_images() {
  local h; h=$(src_hash "$ROOT/cluster/pause/pause.c" "$ROOT/cluster/oci-image.sh")
  PAUSE_LAYOUT="$CACHE/images/pause-$h"
  if [ ! -f "$PAUSE_LAYOUT/index.json" ]; then
    rm -rf "$CACHE"/images/pause-*
    local root; root=$(mktemp -d)
    gcc -static -Os -s -o "$root/pause" "$ROOT/cluster/pause/pause.c"
    "$ROOT/cluster/oci-image.sh" "$root" "$PAUSE_LAYOUT" 3.10 /pause
    rm -rf "$root"
  fi
  h=$(src_hash /bin/busybox "$ROOT/cluster/oci-image.sh" "$ROOT/scripts/cluster.sh") # the rootfs is made here
  BUSYBOX_LAYOUT="$CACHE/images/busybox-$h"
  if [ ! -f "$BUSYBOX_LAYOUT/index.json" ]; then
    rm -rf "$CACHE"/images/busybox-*
    local root a; root=$(mktemp -d)
    mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home/user" "$root/proc" "$root/sys" "$root/dev"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
    chmod 1777 "$root/home/user" # the layer's files are all root's (reproducible); the user can still write its home
    "$ROOT/cluster/oci-image.sh" "$root" "$BUSYBOX_LAYOUT" test /bin/sh
    rm -rf "$root"
  fi
}

# ---- certificates and kubeconfigs (openssl; EC P-256 keys, 10 years: a throwaway test cluster)

pki() {
  mkdir -p -m 700 "$PKI" && cd "$PKI"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -subj /CN=davit-cluster-ca -days 3650 -out ca.crt \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  # service-account tokens: the API server signs them with this key and checks them with its public half
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
  openssl pkey -in sa.key -pubout -out sa.pub
  local sans="IP:127.0.0.1,IP:$API_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver /CN=kube-apiserver serverAuth "$sans"
  cert admin "/O=system:masters/CN=davit-admin" clientAuth
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  cert controller-manager /CN=system:kube-controller-manager clientAuth
  cert scheduler /CN=system:kube-scheduler clientAuth
  local n
  for n in $(seq "$NODES"); do
    cert "$(node_name "$n")" "/O=system:nodes/CN=system:node:$(node_name "$n")" clientAuth
    cert "$(node_name "$n")-serving" "/CN=$(node_name "$n")" serverAuth "IP:$(node_ip "$n"),DNS:$(node_name "$n")"
  done
  cd - >/dev/null
}
cert() { # NAME SUBJECT USAGE [SANS]
  local ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$3"
  [ -z "${4:-}" ] || ext+="
subjectAltName=$4"
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null
  openssl req -new -key "$1.key" -subj "$2" 2>/dev/null \
    | openssl x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out "$1.crt" -extfile <(echo "$ext") 2>/dev/null
}
kubeconfig() { # FILE CERT-NAME
  local b="base64 -w0"
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: davit
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $($b "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b "$PKI/$2.crt")
    client-key-data: $($b "$PKI/$2.key")
contexts:
- name: davit
  context: {cluster: davit, user: $2}
current-context: davit
EOF
  chmod 600 "$1"
}

# ---- control plane

start_etcd() {
  # Debian's etcd 3.4, plain HTTP on loopback only (nothing but the API server on this machine talks to it).
  ETCD_PORT=$(free_port); local peer; peer=$(free_port)
  start etcd etcd --name davit --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "davit=http://127.0.0.1:$peer" --logger zap --log-outputs stderr
  wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
}
start_apiserver() {
  API_PORT=$(free_port)
  # --bind-address: the API server answers on loopback only, so pods cannot reach it.
  # --advertise-address: the first node's address (the kubernetes Service's endpoint), never the host's own.
  # --enable-aggregator-routing: webhooks and aggregated APIs are reached at their endpoints, not their Service
  #   address, as there is no kube-proxy (agent-sandbox's conversion webhook is a process on this machine).
  start kube-apiserver "$KUBE" kube-apiserver \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address="$(node_ip 1)" \
    --cert-dir="$STATE/apiserver" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --enable-aggregator-routing=true --profiling=false $(kwok_apiserver_flags)
  wait_for kube-apiserver 90 curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$API_PORT/readyz"
}
start_controller_manager() {
  local port; port=$(free_port)
  kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
  # --leader-elect=false: one instance. Pod subnets are the CNI configuration's (one per node), not allocated here.
  start kube-controller-manager "$KUBE" kube-controller-manager \
    --kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$port" --cert-dir="$STATE/controller-manager" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --leader-elect=false --profiling=false
  wait_for kube-controller-manager 60 curl -fsSk "https://127.0.0.1:$port/healthz"
}
start_scheduler() {
  local port; port=$(free_port)
  kubeconfig "$STATE/scheduler.kubeconfig" scheduler
  start kube-scheduler "$KUBE" kube-scheduler \
    --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$port" --leader-elect=false --profiling=false
  wait_for kube-scheduler 60 curl -fsSk "https://127.0.0.1:$port/healthz"
}

# ---- the registry the pods pull from

start_registry() {
  REGISTRY_PORT=$(free_port)
  mkdir -p "$STATE/registry"
  cat >"$STATE/registry.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $STATE/registry}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$REGISTRY_PORT}
EOF
  start registry docker-registry serve "$STATE/registry.yml"
  wait_for registry 20 curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/"
  REGISTRY="127.0.0.1:$REGISTRY_PORT"
  PAUSE_IMAGE="$REGISTRY/pause:3.10"
  BUSYBOX_IMAGE="$REGISTRY/busybox:test"
  skopeo copy -q --dest-tls-verify=false "oci:$PAUSE_LAYOUT:3.10" "docker://$PAUSE_IMAGE" >>"$LOGS/registry.log" 2>&1 \
    || fail registry "pushing the pause image to $REGISTRY failed"
  skopeo copy -q --dest-tls-verify=false "oci:$BUSYBOX_LAYOUT:test" "docker://$BUSYBOX_IMAGE" >>"$LOGS/registry.log" 2>&1 \
    || fail registry "pushing the busybox image to $REGISTRY failed"
}

# ---- a node: its address, containerd and kubelet

# The kernel settings the kubelet and the bridge plugin change (the kubelet sets vm.overcommit_memory, vm.panic_on_oom,
# kernel.panic, kernel.panic_on_oops and the root key quotas as it expects them; the bridge plugin turns on
# forwarding; start_netpol sends bridged packets through iptables), saved on up and put back on down, so the machine
# is as it was.
SYSCTLS="net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes"
save_sysctls() {
  local k; for k in $SYSCTLS; do echo "$k=$(sysctl -n "$k")"; done >"$STATE/sysctl.saved"
  [ -d /var/log/containers ] || touch "$STATE/made-var-log-containers"
}

start_containerd() { # N
  local n="$1" d; d=$(node_dir "$1")
  mkdir -p "$d/containerd/certs.d/$REGISTRY" "$d/cni/net.d" "$d/containerd/opt"
  # Plain HTTP to our own loopback registry (containerd's per-registry hosts configuration).
  cat >"$d/containerd/certs.d/$REGISTRY/hosts.toml" <<EOF
server = "http://$REGISTRY"
[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
EOF
  cat >"$d/containerd/config.toml" <<EOF
# containerd for $(node_name "$n") of scripts/cluster.sh: its own root, state and socket under $d, so it never meets
# another containerd on this machine.
version = 2
root = "$d/containerd/root"
state = "$d/containerd/state"
# Lowering a process's OOM score needs CAP_SYS_RESOURCE, which this machine does not give even to root: containerd
# keeps its own (0) and its shims get 1 more.
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # The pod sandbox image: our own pause from our own registry (registry.k8s.io is not reachable from here).
  sandbox_image = "$PAUSE_IMAGE"
  # No CAP_SYS_RESOURCE here: a container's oom_score_adj (the kubelet asks -997 for Guaranteed pods, -998 for the
  # sandbox) is raised to containerd's own instead of failing the container.
  restrict_oom_score_adj = true
  # The pods' network namespaces are mounted under this containerd's state, not in /run/netns with everyone's.
  netns_mounts_under_state_dir = true
  # exec/attach/port-forward streams: on loopback, the kubelet proxies them
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$d/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        # No systemd here (PID 1 is not systemd): cgroups are written directly, as the kubelet's cgroupDriver says.
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$d/containerd/certs.d"
EOF
  # The pod network: a bridge per node with its own /24 of POD_CIDR, addresses from host-local (kept under the
  # node's directory). ipMasq false: nothing NATs pods to the outside, so the cluster's traffic stays on this machine
  # (pods reach the node and networks routed here). portmap gives hostPort; loopback (containerd calls it itself) the
  # pods' lo.
  cat >"$d/cni/net.d/10-davit.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "davit",
  "plugins": [
    {"type": "bridge", "bridge": "$(node_bridge "$n")", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$d/cni/ipam",
              "ranges": [[{"subnet": "$(node_subnet "$n")", "gateway": "$(node_gateway "$n")"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  start "containerd-$n" containerd --config "$d/containerd/config.toml"
  wait_for "containerd-$n" 30 ctr --address "$d/containerd.sock" version
}
# The pods' cgroups go under /davit-cluster/NODE in every v1 hierarchy (cgroupfs driver), so down can find and
# remove exactly ours. The kubelet wants its cgroup root to exist; cpuset needs its cpus and mems filled in.
make_cgroup_root() { # N
  local c dir
  for c in /sys/fs/cgroup/*/; do
    [ -f "$c/cgroup.procs" ] && [ "$c" != /sys/fs/cgroup/unified/ ] || continue
    for dir in "$c/davit-cluster" "$c/davit-cluster/$(node_name "$1")"; do
      mkdir -p "$dir"
      if [ -f "$dir/cpuset.cpus" ]; then
        [ -n "$(cat "$dir/cpuset.cpus")" ] || cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus"
        [ -n "$(cat "$dir/cpuset.mems")" ] || cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems"
      fi
    done
  done
}
start_kubelet() { # N
  local n="$1" d name ip; d=$(node_dir "$1"); name=$(node_name "$1"); ip=$(node_ip "$1")
  kubeconfig "$d/kubelet.kubeconfig" "$name"
  make_cgroup_root "$n"
  cat >"$d/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The node's own address (on lo), not the host's: the API server reaches the kubelet there, nothing else does.
address: $ip
port: 10250
readOnlyPort: 0
healthzBindAddress: $ip
healthzPort: 10248
tlsCertFile: $PKI/$name-serving.crt
tlsPrivateKeyFile: $PKI/$name-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$d/containerd.sock
# No systemd here (PID 1 is not systemd): the kubelet writes cgroups itself, as containerd's runc does. (containerd
# 1.6 cannot tell the kubelet its driver, the RuntimeConfig call, so this setting is the one that counts.)
cgroupDriver: cgroupfs
cgroupRoot: /davit-cluster/$name
# This machine's cgroups are v1 (hybrid: the controllers on v1, only an empty v2 tree); 1.35's kubelet refuses v1
# unless told not to.
failCgroupV1: false
# A machine with swap must not stop the kubelet (this one has none now; CI machines may).
failSwapOn: false
# Lowering the kubelet's own OOM score needs CAP_SYS_RESOURCE, which root does not have here; keep it as it is.
# (Without it the kubelet also cannot raise its open-files limit; it logs "Failed to set rlimit" and goes on.)
oomScoreAdj: 0
# No cluster DNS (no CoreDNS): pods get an empty resolv.conf rather than this machine's resolvers.
resolvConf: ""
podLogsDir: $d/pod-logs
# A shared CI machine's disk and memory are not the cluster's to guard: evict only near the real end.
evictionHard: {memory.available: 100Mi, nodefs.available: 1Gi, imagefs.available: 1Gi, nodefs.inodesFree: 1%}
# The pause image is our registry's; never garbage-collect it (it is pinned) nor the busybox the tests run.
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
maxPods: 110
# Each pod's processes and threads at most (a fork bomb in one takes its own, never the node's): Kubernetes has no
# per-pod limit of its own, and davit's k8s backend refuses --pids, so this is the bound (KUBERNETES.md).
podPidsLimit: 4096
EOF
  start "kubelet-$n" "$KUBE" kubelet --config="$d/kubelet.yaml" --kubeconfig="$d/kubelet.kubeconfig" \
    --root-dir="$d/kubelet" --hostname-override="$name" --node-ip="$ip" --v=1
  wait_for "kubelet-$n" 60 curl -fsS "http://$ip:10248/healthz"
}
start_node() { # N
  local ip; ip=$(node_ip "$1")
  ip addr show dev lo | grep -q " $ip/32 " || ip addr add "$ip/32" dev lo
  start_containerd "$1"
  start_kubelet "$1"
}
wait_nodes_ready() {
  local n name
  for n in $(seq "$NODES"); do
    name=$(node_name "$n")
    wait_for "kubelet-$n" 60 kctl get node "$name"
    wait_for "kubelet-$n" 120 kctl wait --for=condition=Ready "node/$name" --timeout=5s
  done
}

# ---- NetworkPolicy: kube-network-policies' controller, one process for the host
#
# The bridge plugin enforces no NetworkPolicy. kube-network-policies' controller (cluster/netpol/main.go) does: it
# watches pods, namespaces and NetworkPolicies and decides each packet put on its nfqueue by the policies of the
# source pod (egress) and of the destination pod (ingress), dropping what they do not allow. One process for the
# host, not one per node: the nodes share the host's network namespace, so one set of netfilter hooks sees every
# pod's packets, and the controller finds any node's pod by its address (main.go says more).
# Which packets go to its queue is set here, with iptables' NFQUEUE target: the controller's own rules use nftables'
# queue expression, which this kernel lacks (CONFIG_NFT_QUEUE unset, no modules: nft answers "No such file or
# directory" to "queue num"), while iptables' NFQUEUE target (through nft_compat) is there. Queued is the first
# packet of each connection (ct state NEW; the rest of an allowed connection and its replies follow it in conntrack)
#   - that a pod sends to the host's own addresses (INPUT from a node's bridge: the node addresses, the gateways).
#     kube-network-policies v0.8.0's own rules miss these (its POSTROUTING hook never sees them; v1.1.0 adds an
#     INPUT hook, its issue 283), so a pod under a deny-all policy could otherwise still reach every kubelet;
#   - that is forwarded from or to a pod (FORWARD): pod to pod, across nodes or on one bridge (br_netfilter passes
#     bridged packets through these hooks, net.bridge.bridge-nf-call-iptables=1), and pod to anywhere else.
# Not queued: what the host sends (the kubelet's probes): a pod's node may always reach it, as NetworkPolicy says.
# No --queue-bypass: while the controller is not there, those packets are dropped (its own fail-closed default).
# IPv4 only, as the pod network is.

# The kernel parts: br_netfilter and nfnetlink_queue (built in here; modules elsewhere, loaded and unloaded by us).
need_netfilter() {
  local m f
  for m in br_netfilter:/proc/sys/net/bridge/bridge-nf-call-iptables nfnetlink_queue:/proc/net/netfilter/nfnetlink_queue; do
    f=${m#*:}; m=${m%%:*}
    [ -e "$f" ] && continue
    modprobe "$m" 2>/dev/null || fail netfilter "the kernel has no $m (no $f) and it cannot be loaded; NetworkPolicy needs it"
    echo "$m" >>"$STATE/loaded-modules"
  done
}
queue_bound() { [ -n "$(awk -v q="$NETPOL_QUEUE" '$1 == q' /proc/net/netfilter/nfnetlink_queue)" ]; }
start_netpol() {
  ! queue_bound || fail kube-network-policies "nfqueue $NETPOL_QUEUE is taken by another program here; change NETPOL_QUEUE in scripts/cluster.sh"
  netpol_rules_delete # a crashed cluster's
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  # --node: a name no pod is scheduled to, so the controller's own nftables rules (on a kernel that can load them)
  # select no pod and every packet is queued once, by the rules below.
  start kube-network-policies "$NETPOL" --kubeconfig="$STATE/admin.kubeconfig" --nfqueue-id="$NETPOL_QUEUE" \
    --node=davit-cluster-host --nftables-table=davit-netpol
  wait_for kube-network-policies 60 queue_bound # bound once its informers have synced
  iptables -N DAVIT-NETPOL
  iptables -A DAVIT-NETPOL -m conntrack --ctstate NEW -j NFQUEUE --queue-num "$NETPOL_QUEUE"
  iptables -I INPUT 1 -i davit-cni+ -j DAVIT-NETPOL
  iptables -I FORWARD 1 -s "$POD_CIDR" -j DAVIT-NETPOL
  iptables -I FORWARD 1 -d "$POD_CIDR" -j DAVIT-NETPOL
}
netpol_rules_delete() {
  local r
  for r in "INPUT -i davit-cni+" "FORWARD -s $POD_CIDR" "FORWARD -d $POD_CIDR"; do
    # shellcheck disable=SC2086 # $r is the rule's words
    while iptables -D $r -j DAVIT-NETPOL 2>/dev/null; do :; done
  done
  if iptables -F DAVIT-NETPOL 2>/dev/null; then iptables -X DAVIT-NETPOL; fi
  # the controller's own table, where a kernel let it make one and the controller was killed before removing it
  nft delete table inet davit-netpol 2>/dev/null || true
}

# ---- agent-sandbox: CRDs, then the controller as a process on this machine with the admin kubeconfig

start_agent_sandbox() {
  local port probe ip; port=$(free_port); probe=$(free_port); ip=$(node_ip 1)
  # The CRDs convert between their versions through the controller's webhook, at the Service the controller names
  # (agent-sandbox-webhook-service in agent-sandbox-system, port 443). The controller is no pod here, so the Service
  # has no selector and one EndpointSlice: the first node's address and the webhook's port.
  kctl apply --server-side -f - -f "$AS_CRDS" >>"$LOGS/agent-sandbox.log" 2>&1 <<EOF || fail agent-sandbox "applying agent-sandbox's CRDs and its webhook Service failed"
apiVersion: v1
kind: Namespace
metadata: {name: agent-sandbox-system}
---
apiVersion: v1
kind: Service
metadata: {name: agent-sandbox-webhook-service, namespace: agent-sandbox-system}
spec:
  ports: [{port: 443, targetPort: $port, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: agent-sandbox-webhook-service-host
  namespace: agent-sandbox-system
  labels: {kubernetes.io/service-name: agent-sandbox-webhook-service, endpointslice.kubernetes.io/managed-by: davit-cluster}
addressType: IPv4
endpoints: [{addresses: ["$ip"], conditions: {ready: true}}]
ports: [{port: $port, protocol: TCP}]
EOF
  kctl wait --for=condition=Established -f "$AS_CRDS" --timeout=30s >/dev/null
  mkdir -p "$STATE/agent-sandbox"
  # --extensions: SandboxTemplate, SandboxClaim and SandboxWarmPool too. --leader-elect=false: one instance.
  # --metrics-bind-address=0: no metrics server; the health probe on loopback. --sandbox-concurrent-workers: its
  # Sandboxes reconciled 8 at a time, not one (a thousand Sandboxes' pods took 71 s one at a time: KUBERNETES.md).
  KUBECONFIG="$STATE/admin.kubeconfig" start agent-sandbox-controller "$AS_CONTROLLER" --extensions --leader-elect=false \
    --sandbox-concurrent-workers=8 --sandbox-warm-pool-concurrent-workers=4 \
    --metrics-bind-address=0 --health-probe-bind-address="127.0.0.1:$probe" \
    --webhook-port="$port" --webhook-cert-dir="$STATE/agent-sandbox/certs"
  wait_for agent-sandbox-controller 60 curl -fsS "http://127.0.0.1:$probe/readyz"
  # The conversion webhook answers: a list through the older version converts through it.
  wait_for agent-sandbox-controller 60 kctl get sandboxes.v1alpha1.agents.x-k8s.io -A
}

# ---- the env file, the smoke check

write_env() {
  cat >"$ENV_FILE.tmp" <<EOF
# scripts/cluster.sh's cluster; KEY=VALUE lines with no quoting, for sh (source it) and for the tests alike.
KUBECONFIG=$STATE/admin.kubeconfig
DAVIT_CLUSTER_API=https://127.0.0.1:$API_PORT
DAVIT_CLUSTER_REGISTRY=$REGISTRY
DAVIT_CLUSTER_PAUSE_IMAGE=$PAUSE_IMAGE
DAVIT_CLUSTER_BUSYBOX_IMAGE=$BUSYBOX_IMAGE
DAVIT_CLUSTER_NODES=$(for n in $(seq "$NODES"); do printf '%s%s' "$([ "$n" = 1 ] || echo ,)" "$(node_name "$n")"; done)
DAVIT_CLUSTER_NODE=$(node_name 1)
DAVIT_CLUSTER_NODE_IPS=$(for n in $(seq "$NODES"); do printf '%s%s' "$([ "$n" = 1 ] || echo ,)" "$(node_ip "$n")"; done)
DAVIT_CLUSTER_NODE_GATEWAYS=$(for n in $(seq "$NODES"); do printf '%s%s' "$([ "$n" = 1 ] || echo ,)" "$(node_gateway "$n")"; done)
DAVIT_CLUSTER_POD_CIDR=$POD_CIDR
DAVIT_CLUSTER_SERVICE_CIDR=$SERVICE_CIDR
DAVIT_CLUSTER_KUBERNETES_VERSION=$K8S_VERSION
DAVIT_CLUSTER_AGENT_SANDBOX_VERSION=$AS_VERSION
DAVIT_CLUSTER_NETPOL_VERSION=$NP_VERSION
DAVIT_CLUSTER_KUBE=$KUBE
DAVIT_CLUSTER_STATE=$STATE
$(kwok_env)
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}
smoke() {
  local n pod
  wait_for kube-controller-manager 60 kctl get serviceaccount default -n default
  for n in $(seq "$NODES"); do
    pod="davit-smoke-$n"
    kctl run "$pod" --image="$BUSYBOX_IMAGE" --restart=Never \
      --overrides="{\"spec\":{\"nodeName\":\"$(node_name "$n")\"}}" --command -- sh -c 'echo smoke ok' >/dev/null
    kctl wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$pod" --timeout=120s >/dev/null \
      || { kctl describe pod "$pod" >>"$LOGS/kubelet-$n.log" 2>&1; fail "kubelet-$n" "the smoke pod on $(node_name "$n") did not run to success (its description is at the end of the log)"; }
    [ "$(kctl logs "$pod")" = "smoke ok" ] || fail "kubelet-$n" "the smoke pod on $(node_name "$n") did not say 'smoke ok'"
    kctl delete pod "$pod" --wait=true >/dev/null
  done
}

# ---- commands

# Up: the env file written (the last step) and every component still running.
is_up() {
  local f
  [ -f "$ENV_FILE" ] && [ -d "$STATE/pids" ] || return 1
  for f in "$STATE"/pids/*; do alive "$(basename "$f")" || return 1; done
}

up() {
  need_root
  need_tools
  if is_up; then
    say "already up ($ENV_FILE)"
    echo "$STATE/admin.kubeconfig"
    return 0
  fi
  # a half-made or crashed cluster: clear it first
  [ ! -d "$STATE/pids" ] || down >/dev/null 2>&1 || true
  check_addresses
  local t0 t; t0=$(now)
  mkdir -p "$STATE" "$LOGS"; rm -f "$LOGS"/*.log
  t=$(now); build; say "binaries ready ($(took "$t"))"
  STARTING=1 # from here a failure stops what was started
  need_netfilter
  save_sysctls
  t=$(now); pki; say "certificates made ($(took "$t"))"
  t=$(now); start_etcd; say "etcd up on 127.0.0.1:$ETCD_PORT ($(took "$t"))"
  t=$(now); start_apiserver; kubeconfig "$STATE/admin.kubeconfig" admin; say "kube-apiserver up on 127.0.0.1:$API_PORT ($(took "$t"))"
  t=$(now); start_controller_manager; start_scheduler; say "kube-controller-manager and kube-scheduler up ($(took "$t"))"
  t=$(now); start_netpol; say "kube-network-policies $NP_VERSION up, deciding nfqueue $NETPOL_QUEUE ($(took "$t"))"
  t=$(now); start_registry; say "registry up on $REGISTRY with pause and busybox ($(took "$t"))"
  local n
  for n in $(seq "$NODES"); do t=$(now); start_node "$n"; say "$(node_name "$n") started ($(took "$t"))"; done
  t=$(now); wait_nodes_ready; say "nodes Ready ($(took "$t"))"
  t=$(now); start_agent_sandbox; say "agent-sandbox $AS_VERSION CRDs and controller up ($(took "$t"))"
  [ "$SIM_NODES" = 0 ] || { t=$(now); start_kwok; say "$SIM_NODES simulated nodes up, played by kwok $KWOK_VERSION ($(took "$t"))"; }
  t=$(now); smoke; say "smoke pod ran and exited 0 ($(took "$t"))"
  write_env # last: a cluster with an env file is one that passed its smoke check
  say "up in $(took "$t0"); env in $ENV_FILE"
  echo "$STATE/admin.kubeconfig"
}

# Kills a process and every process under it (for a shim: its containers).
kill_tree() {
  local pid="$1" kids
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
  kill -9 "$pid" 2>/dev/null || true
  for k in $kids; do kill_tree "$k"; done
}
stop() { # NAME...: TERM to all, KILL to what still runs after 10 s
  local name pid pids=() i
  for name in "$@"; do
    [ -s "$STATE/pids/$name" ] || continue
    pid=$(cat "$STATE/pids/$name")
    running "$pid" && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$STATE/pids/$name"
  done
  for i in $(seq 50); do
    local left=0; for pid in "${pids[@]}"; do running "$pid" && left=1; done
    [ $left = 1 ] || return 0
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}
# The API server ended (TERM) and started again with the same arguments on the same port, as an upgrade or a crash of
# the control plane would: its clients' watches break and their requests fail until it answers again (the failure
# tests at scale). Its log before the restart is kept as kube-apiserver.log.1.
restart_apiserver() {
  is_up || die "not up; run scripts/cluster.sh up"
  local pid args=() api
  pid=$(cat "$STATE/pids/kube-apiserver")
  mapfile -d '' args <"/proc/$pid/cmdline"
  api=$(sed -n 's/^DAVIT_CLUSTER_API=//p' "$ENV_FILE")
  stop kube-apiserver
  mv -f "$LOGS/kube-apiserver.log" "$LOGS/kube-apiserver.log.1" 2>/dev/null || true
  start kube-apiserver "${args[@]}"
  wait_for kube-apiserver 90 curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$api/readyz"
  say "kube-apiserver restarted"
}

# One up or down at a time (tests in parallel may each ask for the cluster); the lock sits beside the state directory,
# which down empties.
lock() { mkdir -p "$(dirname "$STATE")"; exec 9>"$STATE.lock"; flock 9; }

case "${1:-}" in
  build) mkdir -p "$LOGS" 2>/dev/null || LOGS=$(mktemp -d); build; say "built; binaries in $CACHE" ;;
  up) need_root; lock; up ;;
  down) need_root; lock; down ;;
  restart-apiserver) need_root; lock; restart_apiserver ;;
  status)
    if is_up; then say "up ($ENV_FILE)"; cat "$ENV_FILE"; else say "not up"; exit 1; fi ;;
  kubectl)
    shift
    [ -f "$ENV_FILE" ] || die "not up; run scripts/cluster.sh up"
    KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' "$ENV_FILE") exec "$(sed -n 's/^DAVIT_CLUSTER_KUBE=//p' "$ENV_FILE")" kubectl "$@" ;;
  *) echo "usage: $0 up|down|status|build|restart-apiserver|kubectl ARGS..." >&2; exit 2 ;;
esac
