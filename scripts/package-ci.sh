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
# The Debian root (network and disk, when it is not kept from a previous
# run) is made while the packages build (CPU); debcheck.sh waits for it.
root_log=$(mktemp /tmp/shmx-debroot-log-XXXXXX)
# on an early exit too, the root job ends before this script does
trap 'wait; rm -f "$root_log"' EXIT
"$SHMX_TOP/scripts/debcheck.sh" --prepare >"$root_log" 2>&1 &
root_pid=$!
step "packages and lintian" "$SHMX_TOP/scripts/package.sh" "$SHMX_TOP/build-deb"
wait "$root_pid" || say "making the root beside the build failed: debcheck.sh tries again"
cat "$root_log" >&2
step "fresh Debian 12 root" "$SHMX_TOP/scripts/debcheck.sh" "$SHMX_TOP/build-deb"
step "release tarball" "$SHMX_TOP/scripts/package-dist.sh" "$SHMX_TOP/build-dist"
say "packaging: all good in $((SECONDS - t0)) s ($(IFS=,; echo "${times[*]}" | sed 's/,/, /g'))"
