#!/bin/sh
# Builds davit-agent as a static program: build.sh TARGET_DIR OUTPUT (davit-jail/pom.xml runs it). Without cargo it
# says so and leaves OUTPUT absent: the jar then has no agent and execs go the way without one.
set -eu
target_dir=$1
out=$2
cargo=$(command -v cargo || true)
[ -n "$cargo" ] || cargo="$HOME/.cargo/bin/cargo"
if [ ! -x "$cargo" ]; then
    echo "[WARNING] davit-agent: no cargo on this machine; the jar has no sandbox agent (install Rust with rustup)" >&2
    exit 0
fi
triple="$(uname -m)-unknown-linux-gnu"
cd "$(dirname "$0")"
# static (crt-static): it runs in any image, FROM scratch included; --locked: the crates of Cargo.lock
RUSTFLAGS='-C target-feature=+crt-static -C relocation-model=static' "$cargo" build --quiet --release --locked --target "$triple" \
    --target-dir "$target_dir"
mkdir -p "$(dirname "$out")"
cp "$target_dir/$triple/release/davit-agent" "$out"
# and for the other architecture, where its target and C cross compiler are here (scripts/install-deps.sh): the k8s
# backend's gate image is amd64 and arm64. OUTPUT's name ends in Java's os.arch (amd64, aarch64).
case "$(uname -m)" in
    x86_64) other=aarch64 java_other=aarch64 ;;
    aarch64) other=x86_64 java_other=amd64 ;;
    *) exit 0 ;;
esac
other_triple="$other-unknown-linux-gnu"
cc="$other-linux-gnu-gcc"
rustc="$(dirname "$cargo")/rustc"
[ -x "$rustc" ] || rustc=rustc
sysroot=$("$rustc" --print sysroot 2>/dev/null || echo /nonexistent)
if ! command -v "$cc" >/dev/null 2>&1 || [ ! -d "$sysroot/lib/rustlib/$other_triple" ]; then
    echo "[WARNING] davit-agent: no $other_triple target or $cc here; the jar's davit-agent is for $(uname -m) only (scripts/install-deps.sh adds them)" >&2
    exit 0
fi
triple_var=$(echo "$other_triple" | tr 'a-z-' 'A-Z_')
env "CC_$(echo "$other_triple" | tr '-' '_')=$cc" "CARGO_TARGET_${triple_var}_LINKER=$cc" \
    RUSTFLAGS='-C target-feature=+crt-static -C relocation-model=static' "$cargo" build --quiet --release --locked \
    --target "$other_triple" --target-dir "$target_dir"
cp "$target_dir/$other_triple/release/davit-agent" "$(dirname "$out")/davit-agent-$java_other"
