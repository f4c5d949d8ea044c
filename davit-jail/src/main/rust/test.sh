#!/bin/sh
# davit-agent's own checks, in davit-jail's test phase (pom.xml): its unit and socket tests, and clippy with every
# warning an error. Without cargo it says so and checks nothing (the jar has no agent then either).
set -eu
cargo=$(command -v cargo || true)
[ -n "$cargo" ] || cargo="$HOME/.cargo/bin/cargo"
if [ ! -x "$cargo" ]; then
    echo "[WARNING] davit-agent: no cargo on this machine; its tests are not run" >&2
    exit 0
fi
cd "$(dirname "$0")"
"$cargo" test --quiet --release --locked --target-dir "$1"
if "$cargo" clippy --version >/dev/null 2>&1; then
    "$cargo" clippy --quiet --release --locked --all-targets --target-dir "$1" -- -D warnings
else
    echo "[WARNING] davit-agent: this cargo has no clippy (rustup component add clippy); it is not run" >&2
fi
