# Sourced by bench scripts (after `root` and `work` are set): a static busybox rootfs in $work/rootfs, built by
# `davit build` into an image and pushed to a throwaway registry on 127.0.0.1 (stopped on exit). Sets `ref` and
# `port`, and exports DAVIT_HOME=$work/home (emptied: the caller pulls what it needs).
bash "$root/scripts/install-deps.sh" >/dev/null
rm -rf "$work"; mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true echo sleep; do ln -sf busybox "$work/rootfs/bin/$a"; done
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
davit_start_registry "$work/registry"
port=$REGISTRY_PORT
export DAVIT_HOME="$work/home"
ref="127.0.0.1:$port/bench/busybox:1"
"$root/davit" build -q "$work/rootfs" "$ref" --push >/dev/null
rm -rf "$DAVIT_HOME"
