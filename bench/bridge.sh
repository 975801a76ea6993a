#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds shmx-bridge and its benchmark (bench/bridge.c, built by
# tools/bridge/meson.build) in release, in build-bridge-bench/, runs it (it
# starts its own nats-server on loopback) and writes its tables:
# docs/bridge-performance.md, or --output FILE. nats-server and libnats-dev
# come from scripts/deps.sh bridge. About three minutes; --quick about 20
# seconds. Figures are reported, never asserted.
set -euo pipefail

usage() {
	cat <<'EOF2'
usage: bench/bridge.sh [--quick] [--runs N] [--output FILE]

Bridge throughput and round trip at 64 B and 4 KiB against a plain libnats
publisher/subscriber and a local channel; JetStream publish against a plain
publisher that waits for each ack, and one with a window of async acks.
EOF2
}

quick=() runs=5 output=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=(--quick) ;;
	--runs) runs=$2; shift ;;
	--output) output=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

export SHMX_BUILD=${SHMX_BUILD_BRIDGE_BENCH:-$(cd "$(dirname "$0")/.." && pwd)/build-bridge-bench}
# shellcheck source=../scripts/common.sh
source "$(dirname "$0")/../scripts/common.sh"
cd "$SHMX_TOP"

shmx_deps build bridge
shmx_build "$SHMX_BUILD" --buildtype=release -Dtests=false -Dexamples=false \
	-Dman=false -Dbench=true -Dpython=disabled
bridge=$SHMX_BUILD/tools/bridge/shmx-bridge
bench=$SHMX_BUILD/tools/bridge/shmx-bridge-bench
[ -x "$bridge" ] && [ -x "$bench" ] ||
	die "shmx-bridge and its benchmark were not built (is libnats-dev installed?)"

[ -n "$output" ] || output=$SHMX_TOP/docs/bridge-performance.md
tmp=$(mktemp /tmp/shmx-bridge-bench.XXXXXX)
trap 'rm -f "$tmp"' EXIT
say "running the bridge benchmark (${quick[*]:-full}, $runs runs)"
"$bench" --bridge "$bridge" --runs "$runs" "${quick[@]}" >"$tmp"
{
	echo "## shmx-bridge on loopback"
	echo
	echo "Written by \`bench/bridge.sh ${quick[*]}\` on $(date -u +%Y-%m-%d),"
	echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
	echo "nats-server $(nats-server --version 2>/dev/null | sed 's/.*v//'),"
	echo "libnats $(pkg-config --modversion libnats). One nats-server, no TLS; the bridge"
	echo "path is producer -> channel -> out -> NATS -> in -> channel -> consumer (five"
	echo "processes), the plain path publisher -> NATS -> subscriber (three)."
	echo
	cat "$tmp"
} >"$output"
say "wrote $output"
