#!/bin/sh
# Proves the README's set-up on a clean Debian 12: makes a minimal bookworm root with
# debootstrap, gives it only what the README asks for beforehand (rustup's toolchain, from this
# machine, and a C compiler), and runs `cargo xtask run`'s set-up and build in it from a clean
# clone. See docs/fresh-machine.md. Needs root, debootstrap and a network to Debian's mirror and
# crates.io; takes about as long as a cold release build.
#
#   sudo scripts/fresh-debian.sh [ROOT]        # default ROOT: /var/tmp/quartet-bookworm
set -eu

ROOT=${1:-/var/tmp/quartet-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
REPO=$(cd "$(dirname "$0")/.." && pwd)
RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
CARGO_BIN=$(dirname "$(command -v cargo)")

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    echo "== debootstrap bookworm (minbase) into $ROOT"
    debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
fi

# Every mount is undone (recursively: /sys comes with its own submounts) before the script
# ends, so deleting the root afterwards can never reach into the host's /sys or /dev.
cleanup() {
    mount | awk -v root="$ROOT/" 'index($3, root) == 1 { print $3 }' | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mkdir -p "$ROOT/opt/rustup" "$ROOT/opt/cargo-bin"
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
# rustup's toolchain, read-only: the one thing the README asks for that Debian does not ship.
mount --bind -o ro "$RUSTUP_HOME" "$ROOT/opt/rustup"
mount --bind -o ro "$CARGO_BIN" "$ROOT/opt/cargo-bin"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# Certificates this machine added itself (a proxy that inspects TLS) are trusted inside too.
mkdir -p "$ROOT/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true

echo "== a clean clone of $(git -C "$REPO" rev-parse --short HEAD)"
rm -rf "$ROOT/src/quartet"
git clone -q "$REPO" "$ROOT/src/quartet"

echo "== in the clean root: a C compiler, then cargo xtask run"
chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/opt/cargo-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    RUSTUP_HOME=/opt/rustup CARGO_HOME=/root/.cargo \
    /bin/sh -euc '
        apt-get -q update
        DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends gcc libc6-dev ca-certificates git
        update-ca-certificates >/dev/null
        cd /src/quartet
        # No display in the root: `run` sets up, builds, then says how to run headless.
        cargo xtask run || true
        test -d ui/node_modules
        cargo build --release -p quartet-app -p quartet
        ls -l target/release/quartet-app target/release/quartet
        timeout 10 target/release/quartet server --listen 127.0.0.1:0 || [ $? -eq 124 ]
        echo "fresh Debian 12: set up, built, and the server ran"
    '
