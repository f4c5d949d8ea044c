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
