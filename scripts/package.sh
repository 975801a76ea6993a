#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages (debian/) in a clean clone of the checkout's
# HEAD with dpkg-buildpackage -us -uc -b, checks them with lintian (any
# error or warning fails), and puts libshmx0, libshmx-dev, shmx-tools and
# python3-shmx in OUTDIR with their sizes (debug symbols in OUTDIR/dbgsym):
#   scripts/package.sh [OUTDIR]       (default build-deb/; then
#   sudo apt install ./build-deb/*.deb)
# Uncommitted changes are not in the packages: commit first.
set -euo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
-h | --help) sed -n '3,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
out=$(realpath -m "${1:-$SHMX_TOP/build-deb}")

shmx_deps pkg
git -C "$SHMX_TOP" rev-parse --git-dir >/dev/null 2>&1 ||
	die "$SHMX_TOP is not a git checkout: the packages are built from a clone"
[ -z "$(git -C "$SHMX_TOP" status --porcelain --untracked-files=no)" ] ||
	say "warning: uncommitted changes are not in the packages"

work=$(mktemp -d /tmp/shmx-pkg-XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$SHMX_TOP" "$work/libshmx"
# The source package too, from the clean clone, for lintian's checks of
# debian/ itself (control, copyright, rules); it is not kept.
(cd "$work" && dpkg-source -b libshmx) >"$work/source.log" 2>&1 ||
	{ cat "$work/source.log" >&2; die "dpkg-source -b failed"; }

say "building the packages (dpkg-buildpackage -us -uc -b; log in $out/build.log)"
mkdir -p "$out/dbgsym"
rm -f "$out"/*.deb "$out"/dbgsym/*.deb
if ! (cd "$work/libshmx" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	die "dpkg-buildpackage failed (whole log: $out/build.log)"
fi

# Every tag but the experimental ones, info and pedantic included, is
# shown; errors and warnings fail. As root lintian says it would rather
# not be: that line is not a finding.
say "lintian (the source package and the binary ones)"
rc=0
lintian --display-info --pedantic --fail-on error,warning "$work"/*.dsc "$work"/*.changes \
	>"$out/lintian.txt" 2>&1 || rc=$?
grep -v 'running with root privileges' "$out/lintian.txt" | sed 's/^/  /' >&2 || true
tags=$(grep -cE '^[EWIP]: ' "$out/lintian.txt" || true)
errs=$(grep -cE '^E: ' "$out/lintian.txt" || true)
warns=$(grep -cE '^W: ' "$out/lintian.txt" || true)
say "lintian: $errs errors, $warns warnings, $tags tags in all"
[ "$rc" -eq 0 ] || die "lintian failed (exit $rc): $out/lintian.txt"

for deb in "$work"/*.deb; do
	case $deb in
	*-dbgsym_*) cp "$deb" "$out/dbgsym/" ;;
	*) cp "$deb" "$out/" ;;
	esac
done
say "packages in $out (file size, installed size):"
shopt -s nullglob
for deb in "$out"/*.deb "$out"/dbgsym/*.deb; do
	printf '  %-44s %7s KiB %7s KiB\n' "$(basename "$deb")" \
		"$(( ($(stat -c %s "$deb") + 1023) / 1024 ))" \
		"$(dpkg-deb -f "$deb" Installed-Size)" >&2
done
