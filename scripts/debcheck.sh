#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fresh-root check of the Debian packages: a minimal Debian 12
# (bookworm) root made by mmdebstrap, where scripts/package-root-test.sh
# installs the four .debs with apt-get, builds and runs consumers
# (pkg-config, CMake), runs shmx and python3 -c 'import shmx', purges them
# and checks that nothing of them is left.
#   scripts/debcheck.sh [DEBDIR]       (default build-deb/, from package.sh)
#   scripts/debcheck.sh --prepare      only make the root (when it is missing)
#   SHMX_DEBROOT=DIR   where the root is kept between runs (default
#                      /tmp/shmx-debroot-bookworm); made again when missing,
#                      made for another recipe or a week old
#   SHMX_MIRROR=URL    the Debian mirror (default http://deb.debian.org/debian)
# Each run works on an overlay (or a copy) of the kept root, which it never
# changes; /proc and a private /dev/shm are mounted there and always
# unmounted.
set -euo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
-h | --help) sed -n '3,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
[ "$(id -u)" -eq 0 ] || die "debcheck.sh needs root (mmdebstrap, mount, chroot)"
prepare=0
[ "${1:-}" != --prepare ] || { prepare=1; shift; }
debdir=$(realpath -m "${1:-$SHMX_TOP/build-deb}")
root=${SHMX_DEBROOT:-/tmp/shmx-debroot-bookworm}
mirror=${SHMX_MIRROR:-http://deb.debian.org/debian}
# What the consumers need to build, besides what the packages pull in.
include=gcc,libc6-dev,pkg-config,cmake,make,python3
recipe="bookworm variant=apt include=$include"

for p in libshmx0 libshmx-dev shmx-tools python3-shmx; do
	[ "$prepare" = 1 ] || ls "$debdir/${p}"_*.deb >/dev/null 2>&1 ||
		die "no ${p}_*.deb in $debdir (scripts/package.sh builds them)"
done
shmx_deps pkg

# The kept root: made whole in ROOT.new, renamed when done, so a run that
# was interrupted leaves nothing that looks finished.
make_root() {
	rm -rf "$root.new"
	say "making a Debian 12 root in $root (mmdebstrap)"
	local t0=$SECONDS
	mmdebstrap --quiet --variant=apt --include="$include" \
		--skip=cleanup/apt/lists bookworm "$root.new" "$mirror" >&2 ||
		die "mmdebstrap failed"
	echo "$recipe" >"$root.new/.shmx-recipe"
	rm -rf "$root"
	mv "$root.new" "$root"
	say "root made in $((SECONDS - t0)) s"
}

work=$(mktemp -d /tmp/shmx-debcheck-XXXXXX)
mnt=$work/root
mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" ||
			echo "warning: could not unmount ${mounted[i]}" >&2
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One run at a time may make or use the kept root.
exec 9>"$root.lock"
flock 9
# A week old, its package lists may name versions the mirror no longer
# has (what apt fetches for the packages' dependencies): made again.
if [ "$(cat "$root/.shmx-recipe" 2>/dev/null)" != "$recipe" ] ||
	[ -n "$(find "$root/.shmx-recipe" -mtime +7)" ]; then
	make_root
else
	say "using the Debian 12 root in $root"
fi
[ "$prepare" = 0 ] || exit 0

mkdir -p "$mnt" "$work/upper" "$work/ovl"
if mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/ovl" \
	"$mnt" 2>/dev/null; then
	mounted+=("$mnt")
else
	say "no overlayfs here: copying the root"
	cp -a "$root/." "$mnt/"
fi
mount -t proc proc "$mnt/proc"
mounted+=("$mnt/proc")
mount -t tmpfs -o mode=1777,size=64m shmx-debcheck "$mnt/dev/shm"
mounted+=("$mnt/dev/shm")

inside=/tmp/debcheck
mkdir -p "$mnt$inside/debs"
cp "$debdir"/*.deb "$mnt$inside/debs/"
rm -f "$mnt$inside/debs/"*-dbgsym_*.deb
cp -r "$SHMX_TOP/tests/consumer" "$mnt$inside/consumer"
cp "$SHMX_TOP/scripts/package-root-test.sh" "$mnt$inside/"

say "installing, using and purging the packages in the root"
# A clean environment, as a login on that machine would have.
chroot "$mnt" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb bash "$inside/package-root-test.sh" "$inside"
