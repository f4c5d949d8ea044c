#!/usr/bin/env bash
# The main job end-to-end on this machine, with no internet: a throwaway local docker-registry stands in for a
# public registry. Builds an image with umoci, pushes it with skopeo, then pulls it with davit into a fresh
# store, inspects it, checks that skopeo reads davit's store, verifies it with fsck, and pulls it again (cached).
# Then builds a small environment (busybox; a container image and a microVM with Debian's kernel), pushes both,
# and runs a command in each from a fresh home: in a container sandbox and in a QEMU microVM. Last, the first
# command every user types, `davit run debian:12 -- git --version`, with nothing published: built once, then found.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh"
work="$(mktemp -d /tmp/davit-demo.XXXXXX)"
. "$root/scripts/registry.sh"
cleanup() { davit_stop_registries; rm -rf "$work"; }
trap cleanup EXIT

davit_start_registry "$work/registry"
port=$REGISTRY_PORT
echo "== registry on 127.0.0.1:$port"

echo "== building a two-layer image with umoci and pushing it with skopeo"
umoci init --layout "$work/layout"
umoci new --image "$work/layout:demo"
umoci unpack --rootless --image "$work/layout:demo" "$work/bundle" >/dev/null
mkdir -p "$work/bundle/rootfs/etc" && echo "hello from davit's demo" > "$work/bundle/rootfs/etc/motd"
umoci repack --image "$work/layout:demo" "$work/bundle" >/dev/null
head -c 8000000 /dev/urandom > "$work/bundle/rootfs/data.bin"
umoci repack --image "$work/layout:demo" "$work/bundle" >/dev/null
umoci config --image "$work/layout:demo" --config.cmd /bin/sh --config.env GREETING=hello >/dev/null
ref="127.0.0.1:$port/demo/hello:1"
skopeo copy -q --dest-tls-verify=false "oci:$work/layout:demo" "docker://$ref"

export DAVIT_HOME="$work/davit-home"
echo "== davit digest $ref"; "$root/davit" digest "$ref"
echo "== davit pull $ref"; "$root/davit" pull "$ref"
echo "== davit images"; "$root/davit" images
echo "== davit inspect $ref (config)"; "$root/davit" inspect "$ref" | head -n 20
echo "== skopeo reads davit's store"; skopeo inspect "oci:$DAVIT_HOME/store:$ref" | grep -E '"(Digest|Architecture|Os)"'
echo "== davit fsck"; "$root/davit" fsck
echo "== davit pull again (everything cached)"; "$root/davit" pull "$ref"
echo "== davit pull --json"; "$root/davit" pull --json "$ref"

envs="127.0.0.1:$port/envs"
echo "== davit env build busybox: a container image and a microVM environment, pushed"
"$root/davit" env build busybox --version 1 --push "$envs/busybox:1" --push-vm "$envs/busybox-vm:1"
export DAVIT_HOME="$work/fresh-home"
echo "== davit run $envs/busybox:1 (pulled, unpacked, run in a container sandbox)"
"$root/davit" run "$envs/busybox:1" -- sh -c 'cat /etc/davit/environment.json; echo; echo "in a container: $(hostname)"'
echo "== davit run $envs/busybox-vm:1 (pulled, booted in a microVM)"
"$root/davit" run "$envs/busybox-vm:1" -- sh -c 'echo "in a microVM: kernel $(uname -r), $(nproc) vCPU"'

# The first command every user types. The built-in catalog's registry base points at the throwaway registry, where
# nothing is published: davit says so, builds debian:12 once from Debian's mirror, and the second run finds it.
export DAVIT_HOME="$work/first-home" DAVIT_REPO_REGISTRY_BASE="$envs/environments"
echo "== davit run debian:12 -- git --version (first run: built from Debian's mirror, about a minute)"
"$root/davit" run debian:12 -- git --version
echo "== davit run debian:12 -- git --version (second run: installed)"
"$root/davit" run debian:12 -- git --version
echo "== davit env list"; "$root/davit" env list
echo "demo: OK"
