# Simulated nodes for scripts/cluster.sh (sourced by it): with DAVIT_CLUSTER_SIMULATED_NODES=N, kwok plays N nodes
# beside the real ones. The API server, etcd, the scheduler, the controllers and agent-sandbox's controller are the
# real ones and carry every pod made there; kwok answers for those nodes' kubelets: their heartbeats (leases), and
# each pod's states (Running once scheduled, gone once deleted). No container runs and no process: a simulated pod
# takes no exec, no file and no network. Each node is tainted davit.dev/simulated=true:NoSchedule, so only a pod
# that tolerates it (and asks for it by the label davit.dev/simulated=true) lands there.

SIM_NODES="${DAVIT_CLUSTER_SIMULATED_NODES:-0}"
KWOK_VERSION=$(awk '$1 == "sigs.k8s.io/kwok" { print $2; exit }' "$ROOT/cluster/kwok/go.mod")
SIM_NET=10.253                # simulated node N's address is 10.253.N/256.N%256 (nothing routes to it)
SIM_POD_CIDR=10.252.0.0/16    # kwok's pod addresses
SIM_TAINT=davit.dev/simulated

sim_node_name() { echo "davit-sim-$1"; }

# kwok's binary and the stages it plays (the module's own: a node ready at once with its lease kept, a pod Running
# once scheduled, Succeeded when every container is done, gone when deleted), cached per version and per go.sum.
build_kwok() {
  [ "$SIM_NODES" -gt 0 ] || return 0
  local k="$ROOT/cluster/kwok" h mod
  h=$(src_hash "$k/go.mod" "$k/go.sum")
  KWOK="$CACHE/kwok-$KWOK_VERSION-$h"
  KWOK_STAGES="$CACHE/kwok-stages-$KWOK_VERSION.yaml"
  if [ ! -x "$KWOK" ]; then
    rm -f "$CACHE"/kwok-v*
    go_build kwok "$k" "$KWOK" sigs.k8s.io/kwok/cmd/kwok
  fi
  if [ ! -f "$KWOK_STAGES" ]; then
    mod=$(cd "$k" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"; cat "$mod/kustomize/stage/$f"
    done >"$KWOK_STAGES.tmp" && mv "$KWOK_STAGES.tmp" "$KWOK_STAGES"
  fi
}

# The nodes, then kwok: it manages the nodes annotated kwok.x-k8s.io/node=fake.
start_kwok() {
  [ "$SIM_NODES" -gt 0 ] || return 0
  local n ip
  mkdir -p "$STATE/kwok"
  {
    cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: $SIM_POD_CIDR
  manageNodesWithAnnotationSelector: kwok.x-k8s.io/node=fake
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  podPlayStageParallelism: 8
  nodePlayStageParallelism: 4
  enablePodsOnNodeSyncStreamWatch: false
EOF
    cat "$KWOK_STAGES"
  } >"$STATE/kwok/kwok.yaml"
  for n in $(seq "$SIM_NODES"); do
    ip="$SIM_NET.$((n / 256)).$((n % 256))"
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $(sim_node_name "$n")
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: $(sim_node_name "$n"), kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok, $SIM_TAINT: "true"}
spec:
  taints: [{key: $SIM_TAINT, value: "true", effect: NoSchedule}]
status:
  addresses: [{type: InternalIP, address: "$ip"}]
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
  capacity: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
  nodeInfo: {architecture: amd64, operatingSystem: linux, kubeletVersion: $K8S_VERSION}
EOF
  done | kctl apply --server-side -f - >>"$LOGS/kwok.log" 2>&1 || fail kwok "making the simulated nodes failed"
  start kwok "$KWOK" --kubeconfig="$STATE/admin.kubeconfig" --config="$STATE/kwok/kwok.yaml" \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake
  wait_for kwok 120 sim_ready
}
sim_ready() {
  [ "$(kctl get nodes -l "$SIM_TAINT=true" \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = "$SIM_NODES" ]
}

# The API server's flags for kwok: its watches of pods, nodes and leases ask for their initial state in the watch
# stream (client-go 0.36), which the API server's watch cache serves only with etcd's progress notifications (etcd
# 3.4.31 or later; Debian's is 3.4.23): it refuses each such watch, kwok's lease renewals then fail on stale copies,
# its nodes go NotReady and their pods wait. Without a watch cache for those three the API server serves these
# watches from etcd itself, which can.
kwok_apiserver_flags() {
  [ "$SIM_NODES" = 0 ] || echo "--watch-cache-sizes=pods#0,nodes#0,leases.coordination.k8s.io#0"
}

# The env file's lines for the simulated nodes.
kwok_env() {
  echo "DAVIT_CLUSTER_SIMULATED_NODES=$SIM_NODES"
  echo "DAVIT_CLUSTER_SIMULATED_LABEL=$SIM_TAINT=true"
  echo "DAVIT_CLUSTER_SIMULATED_TAINT=$SIM_TAINT=true:NoSchedule"
}
