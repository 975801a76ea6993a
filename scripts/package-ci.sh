#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CI's packaging part (.ci/run runs it after the suite): the Debian
# packages built and checked by lintian (package.sh), installed, used and
# purged in a fresh Debian 12 root (debcheck.sh), and the release tarball
# built and tested on its own (package-dist.sh); each step timed.
#   scripts/package-ci.sh      (.debs in build-deb/, the tarball in build-dist/)
set -euo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
-h | --help) sed -n '3,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
t0=$SECONDS
times=()
step() {
	local what=$1 t=$SECONDS
	shift
	say "packaging: $what"
	"$@" || die "packaging: $what failed"
	times+=("$what $((SECONDS - t)) s")
}
step "tools (deps.sh pkg)" shmx_deps test pkg
step "packages and lintian" "$SHMX_TOP/scripts/package.sh" "$SHMX_TOP/build-deb"
step "fresh Debian 12 root" "$SHMX_TOP/scripts/debcheck.sh" "$SHMX_TOP/build-deb"
step "release tarball" "$SHMX_TOP/scripts/package-dist.sh" "$SHMX_TOP/build-dist"
say "packaging: all good in $((SECONDS - t0)) s ($(IFS=,; echo "${times[*]}" | sed 's/,/, /g'))"
