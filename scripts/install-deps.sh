#!/usr/bin/env bash
# Installs the real components the tests use, from Debian: the CNCF distribution registry, skopeo, umoci, buildah (the independent Containerfile builder),
# the container runtimes (bubblewrap, crun, runc), slirp4netns and iproute2 (--network), QEMU for microVMs, mmdebstrap, uidmap (newuidmap/newgidmap for
# rootless builds) and e2fsprogs/cpio/xz for building environments, gpg with its agent and openssl (signers for the signature tests; gpg also signs the Maven artifacts in scripts/release-check.sh), a static busybox (the sandbox tests' root filesystem and the VM tests' guest), Node with npm (the MCP test's client),
# and what makes and checks the release (zip, dpkg-dev, groff, man-db, zsh); etcd, containerd, the CNI plugins and nftables for
# the Kubernetes cluster of scripts/cluster.sh.
set -euo pipefail
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v umoci >/dev/null 2>&1 || need+=(umoci)
# buildah: the independent builder ContainerfileBuildahTest compares davit's Containerfile builds with (as root, chroot isolation)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
# gpg (a throwaway keyring signs with skopeo --sign-by and checks davit's signatures) and openssl (checks davit's
# sigstore signatures and signs some davit checks): the signature tests' independent signers
command -v gpg >/dev/null 2>&1 || need+=(gpg)
command -v gpgconf >/dev/null 2>&1 || need+=(gpgconf)
# gpg-agent: gpg makes and uses secret keys through it (the throwaway keys above, and scripts/release-check.sh's,
# which signs the Maven artifacts); Debian's gpg only recommends it, which --no-install-recommends leaves out
command -v gpg-agent >/dev/null 2>&1 || need+=(gpg-agent)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v crun >/dev/null 2>&1 || need+=(crun)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v slirp4netns >/dev/null 2>&1 || need+=(slirp4netns)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# iptables-restore: the netfilter rules of a sandbox with an egress policy (--allow-host ...), which send it to the gate
command -v iptables-restore >/dev/null 2>&1 || [ -x /usr/sbin/iptables-restore ] || need+=(iptables)
command -v newuidmap >/dev/null 2>&1 || need+=(uidmap)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
# debugfs (e2fsprogs): 'davit workspace disk' reads a stopped microVM's disk image with it, never mounting it
command -v debugfs >/dev/null 2>&1 || command -v /sbin/debugfs >/dev/null 2>&1 || need+=(e2fsprogs)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
# gcc and a static libc: the build makes davit-exec, the jail's static exec helper (davit-jail/src/main/c)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
ls /usr/lib/*/libc.a >/dev/null 2>&1 || need+=(libc6-dev)
# cargo: the build makes davit-agent, the sandbox's resident agent (davit-jail/src/main/rust), with rustup's cargo
# where the machine has one, else Debian's (its crates come from crates.io, pinned by Cargo.lock)
command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] || need+=(cargo)
# the other architecture's davit-agent (the k8s backend's gate image is amd64 and arm64): its C compiler and libc for
# ring and the static link (rustup adds its Rust target below)
case "$(uname -m)" in
  x86_64) command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
          # qemu-user: GateImageTest runs the arm64 davit-agent
          command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user) ;;
  aarch64) command -v x86_64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-x86-64-linux-gnu libc6-dev-amd64-cross)
           command -v qemu-x86_64 >/dev/null 2>&1 || need+=(qemu-user) ;;
esac
# Node and npm: the MCP test's independent client (@modelcontextprotocol/sdk, npm-installed into davit-cli/target)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# the release (scripts/dist.sh): zip and dpkg-deb make it; groff, man and zsh check its man pages and completions
command -v zip >/dev/null 2>&1 || need+=(zip)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg-dev)
command -v groff >/dev/null 2>&1 || need+=(groff-base)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need+=(busybox-static)
# scripts/cluster.sh's Kubernetes cluster (the k8s backend's tests): etcd, containerd (with ctr and its runc shim) and
# the CNI plugins (bridge, host-local, loopback, portmap); it runs its own instances of them, never the services
cluster_services=()
command -v etcd >/dev/null 2>&1 || { need+=(etcd-server); cluster_services+=(etcd); }
command -v containerd >/dev/null 2>&1 || { need+=(containerd); cluster_services+=(containerd); }
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
# nft: scripts/cluster.sh removes the NetworkPolicy controller's nftables table with it, should one be left
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # the etcd and containerd services the packages just started (where systemd runs): the cluster uses none of them
  if [ ${#cluster_services[@]} -gt 0 ] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now "${cluster_services[@]}" >/dev/null 2>&1 || true
  fi
fi
# the other architecture's Rust standard library, where cargo is rustup's (without it the jar has this machine's
# davit-agent only, and says so at build time)
rustup=$(command -v rustup || echo "$HOME/.cargo/bin/rustup")
if [ -x "$rustup" ]; then
  other=aarch64; [ "$(uname -m)" = aarch64 ] && other=x86_64
  "$rustup" target list --installed 2>/dev/null | grep -q "^$other-unknown-linux-gnu$" \
    || "$rustup" target add "$other-unknown-linux-gnu" >/dev/null 2>&1 \
    || echo "deps: rustup could not add $other-unknown-linux-gnu: the jar's davit-agent is for $(uname -m) only" >&2
fi
# davit env build without root needs /etc/subuid and /etc/subgid ranges for the user (the rootless test makes its
# own user with ranges); say so when the user who ran sudo has none
u="${SUDO_USER:-$(id -un)}"
if [ "$u" != root ] && ! grep -q "^$u:" /etc/subuid 2>/dev/null; then
  echo "deps: $u has no /etc/subuid range; for davit env build without root run: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $u" >&2
fi
# The Debian package may start a registry on :5000 as a service; the tests start their own on free ports.
echo "deps: docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}'), $(skopeo --version), $(umoci --version), $(buildah --version), $(bwrap --version), $(crun --version | head -1), $(runc --version | head -1), $(qemu-system-x86_64 --version | head -1), busybox $(busybox --help 2>/dev/null | head -1 | awk '{print $2}'), node $(node --version), npm $(npm --version 2>/dev/null), etcd $(etcd --version 2>/dev/null | awk 'NR==1 {print $3}'), containerd $(containerd --version 2>/dev/null | awk '{print $3}')"
