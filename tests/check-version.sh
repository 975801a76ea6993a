#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libshmx's version has one source, project() in meson.build; everything
# else that states it must say the same: the header's SHMX_VERSION_*
# macros, the generated libshmx.pc and CMake version file, shmx --version
# (the library's shmx_version()), the man pages' title lines and
# debian/changelog (the packages' version). The newest version node of
# src/libshmx.map is no newer than the release.
#   check-version.sh VERSION SOURCE_ROOT BUILD_ROOT [SHMX]     (TAP output)
# To release X.Y.Z: project(version:) in meson.build, the four macros in
# include/shmx.h, the .TH lines of docs/man/*, a debian/changelog entry
# (dch -v X.Y.Z); this test names whatever was missed.
set -u
ver=$1 src=$2 build=$3 shmx=${4:-}
n=0 failed=0

# same WHAT GOT: one TAP line, ok when GOT is the version.
same() {
	n=$((n + 1))
	if [ "$2" = "$ver" ]; then
		echo "ok $n - $1 says $ver"
	else
		echo "not ok $n - $1 says '$2', meson.build $ver"
		failed=$((failed + 1))
	fi
}

echo "1..8"
h=$src/include/shmx.h
macro() { sed -n "s/^#define SHMX_VERSION_$1[[:space:]]\{1,\}\"\{0,1\}\([^\"]*\)\"\{0,1\}[[:space:]]*$/\1/p" "$h"; }
same "include/shmx.h SHMX_VERSION_STRING" "$(macro STRING)"
same "include/shmx.h SHMX_VERSION_MAJOR.MINOR.PATCH" \
	"$(macro MAJOR).$(macro MINOR).$(macro PATCH)"
same "libshmx.pc Version" \
	"$(sed -n 's/^Version: *//p' "$build/meson-private/libshmx.pc" 2>/dev/null)"
same "libshmxConfigVersion.cmake PACKAGE_VERSION" \
	"$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' \
		"$build/cmake/libshmxConfigVersion.cmake" 2>/dev/null)"
if [ -n "$shmx" ]; then
	out=$("$shmx" --version 2>&1)
	same "shmx --version" "${out#shmx (libshmx) }"
else
	n=$((n + 1))
	echo "ok $n - shmx --version # SKIP the tool is not built (-Dtools=false)"
fi

# The man pages' source field, .TH NAME SECTION DATE "libshmx X.Y.Z" ...;
# a page that is only ".so other-page" has none.
bad=$(grep -m1 -H '^\.TH' "$src"/docs/man/*.[0-9] |
	grep -v -F "\"libshmx $ver\"" | sed "s|^$src/||")
n=$((n + 1))
if [ -z "$bad" ]; then
	echo "ok $n - every man page's .TH line says libshmx $ver"
else
	echo "not ok $n - $(wc -l <<<"$bad") man pages' .TH line is not \"libshmx $ver\", e.g.:"
	head -n 3 <<<"$bad" | sed 's/^/# /'
	failed=$((failed + 1))
fi

# The first line: "libshmx (VERSION) DIST; urgency=..." The packages are
# native, so their version is the release itself.
same "debian/changelog" \
	"$(sed -n '1s/^libshmx (\([^)]*\)).*/\1/p' "$src/debian/changelog")"

# LIBSHMX_X.Y names the release that added its symbols: X.Y.0 <= VERSION.
node=$(sed -n 's/^LIBSHMX_\([0-9]*\.[0-9]*\) *{.*/\1/p' "$src/src/libshmx.map" |
	sort -V | tail -n 1)
n=$((n + 1))
if [ -n "$node" ] && [ "$(printf '%s\n' "$node.0" "$ver" | sort -V | tail -n 1)" = "$ver" ]; then
	echo "ok $n - the newest version node LIBSHMX_$node is not newer than $ver"
else
	echo "not ok $n - the newest version node LIBSHMX_$node is newer than $ver"
	failed=$((failed + 1))
fi
exit $((failed > 0))
