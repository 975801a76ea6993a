#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# debian/libshmx0.symbols from src/libshmx.map: every exported symbol with
# the version node it appeared in. Node LIBSHMX_X.Y is release X.Y.0, the
# first package that has the symbol, so that is the version a program
# using it depends on (dpkg-shlibdeps reads this file).
#   scripts/package-symbols.sh [MAP]                   print the file
#   scripts/package-symbols.sh --check MAP SYMBOLS      TAP: SYMBOLS is it
# After a new node or symbol in the map: scripts/package-symbols.sh >
# debian/libshmx0.symbols. The package build (debian/rules) fails when the
# library exports a symbol the file lacks, or lacks one it lists.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

case "${1:-}" in
-h | --help) sed -n '3,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

# The map as "NODE SYMBOL" lines: a node's own name is a symbol of it too
# (ld defines it), then the names under "global:" up to "local:" or "}".
symbols() {
	awk '
	/^[[:space:]]*#/ { next }
	/^[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*\{/ {
		node = $1; sub(/\{.*/, "", node); glob = 0
		print node, node; next
	}
	/global:/ { glob = 1; next }
	/local:/ { glob = 0; next }
	/^[[:space:]]*\}/ { node = ""; glob = 0; next }
	node != "" && glob && /;/ {
		s = $0; gsub(/[[:space:];]/, "", s)
		if (s != "") print node, s
	}' "$1"
}

generate() {
	local map=$1 n=0 node sym ver
	echo "libshmx.so.0 libshmx0 #MINVER#"
	echo "* Build-Depends-Package: libshmx-dev"
	while read -r node sym; do
		[[ $node =~ ^LIBSHMX_([0-9]+)\.([0-9]+)$ ]] ||
			{ echo "error: $map: node '$node' is not LIBSHMX_X.Y" >&2; return 1; }
		ver="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.0"
		echo " $sym@$node $ver"
		n=$((n + 1))
	done < <(symbols "$map")
	[ "$n" -gt 1 ] || { echo "error: no symbols in $map" >&2; return 1; }
}

if [ "${1:-}" = --check ]; then
	map=$2 file=$3
	echo "1..1"
	want=$(generate "$map") || { echo "not ok 1 - $map parses"; exit 1; }
	if out=$(diff -u <(echo "$want") "$file" 2>&1); then
		echo "ok 1 - $(basename "$file") lists exactly the symbols of $(basename "$map")"
		exit 0
	fi
	echo "not ok 1 - $(basename "$file") lists exactly the symbols of $(basename "$map")"
	echo "# regenerate it: scripts/package-symbols.sh > debian/libshmx0.symbols"
	sed 's/^/# /' <<<"$out"
	exit 1
fi
generate "${1:-$top/src/libshmx.map}"
