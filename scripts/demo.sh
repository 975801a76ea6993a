#!/usr/bin/env bash
# Installs what is missing, builds, then shows two ways to pass data between
# two processes through shared memory, leaving nothing behind in /dev/shm:
#   1. the short example pair: ./writer hands lines to ./reader through a
#      region and a semaphore pair;
#   2. shmx send | shmx recv: a file of random bytes through a channel,
#      checked byte for byte with cmp.
set -uo pipefail
source "$(dirname "$0")/common.sh"

shmx_deps build
shmx_build "$SHMX_BUILD"

ex=$SHMX_BUILD/examples
shmx=$SHMX_BUILD/tools/shmx
pair=/shmx-demo-$$                  # unique per run
chan=/shmx-demo-$$-stream
tmp=$(mktemp -d /tmp/shmx-demo.XXXXXX) || die "mktemp failed"
bg=""

# Entries of /dev/shm that belong to this run (regions, channels,
# semaphores "sem.NAME.shmx-w/-r", pair control objects).
leftovers() {
	ls -A /dev/shm 2>/dev/null | grep -F "shmx-demo-$$" || true
}
cleanup() {
	[ -n "$bg" ] && kill "$bg" 2>/dev/null
	rm -rf "$tmp"
	# only if a run went wrong: each sender removes what it made
	[ -z "$(leftovers)" ] || "$shmx" rm "$pair" "$chan" >/dev/null 2>&1
}
trap cleanup EXIT

# wait_bg: the background process's exit status; a deadline guards it
# (each program has its own as well).
wait_bg() {
	for _ in $(seq 300); do
		kill -0 "$bg" 2>/dev/null || break
		sleep 0.1
	done
	wait "$bg"
	local rc=$?
	bg=""
	return $rc
}

say "1. the short pair: examples/writer and examples/reader (${pair})"
say "reader: waiting for $pair (in the background)"
"$ex/reader" "$pair" >"$tmp/lines.out" 2>"$tmp/reader.err" &
bg=$!
say "writer: creating $pair and its semaphores, one line a turn"
timeout 30 "$ex/writer" "$pair" <<'EOF'
Hello from the writer process.
Each line is one turn: the writer copies it into the region,
posts "may read" and waits for "may write";
the reader prints it and posts "may write" back.
At the end of input the writer sends an empty line, which ends both.
EOF
wrc=$?
wait_bg
rrc=$?
say "the reader printed:"
sed 's/^/    | /' "$tmp/lines.out"
[ -s "$tmp/reader.err" ] && sed 's/^/    ! /' "$tmp/reader.err" >&2
left=$(leftovers)
say "writer exit $wrc, reader exit $rrc, left in /dev/shm: ${left:-nothing}"
[ "$wrc" -eq 0 ] && [ "$rrc" -eq 0 ] && [ -z "$left" ] || die "demo failed (the pair)"

say "2. shmx send | shmx recv: 8 MiB of random bytes through the channel $chan"
head -c 8M /dev/urandom >"$tmp/random.bin" || die "cannot make the input"
"$shmx" recv "$chan" >"$tmp/random.out" 2>"$tmp/recv.err" &
bg=$!
timeout 60 "$shmx" send "$chan" <"$tmp/random.bin"
src=$?
wait_bg
rrc=$?
[ -s "$tmp/recv.err" ] && sed 's/^/    ! /' "$tmp/recv.err" >&2
cmp "$tmp/random.bin" "$tmp/random.out" && same=yes || same=no
left=$(leftovers)
say "send exit $src, recv exit $rrc, identical: $same, left in /dev/shm: ${left:-nothing}"
[ "$src" -eq 0 ] && [ "$rrc" -eq 0 ] && [ "$same" = yes ] && [ -z "$left" ] ||
	die "demo failed (shmx send | shmx recv)"
say "demo ok"
