#!/usr/bin/env bash
# Installs what is missing, builds, then runs the example pair: a writer and
# a reader, two processes, pass a few lines through shared memory and a
# semaphore pair, and leave nothing behind in /dev/shm.
set -uo pipefail
source "$(dirname "$0")/common.sh"

shmx_deps build
shmx_build "$SHMX_BUILD"

ex=$SHMX_BUILD/examples
name=/shmx-demo-$$                  # unique per run
out=$(mktemp) err=$(mktemp)
reader=""

shmx=$SHMX_BUILD/tools/shmx
leftovers() {
	ls -A /dev/shm 2>/dev/null | grep -F "${name#/}" || true
}
cleanup() {
	[ -n "$reader" ] && kill "$reader" 2>/dev/null
	rm -f "$out" "$err"
	# only if a run went wrong: the writer normally removes all of it itself
	[ -z "$(leftovers)" ] || "$shmx" rm "$name" >/dev/null 2>&1
}
trap cleanup EXIT

say "reader: waiting for $name (in the background)"
"$ex/reader" --name "$name" --timeout 5000 >"$out" 2>"$err" &
reader=$!

say "writer: creating $name (64K) and its semaphores, sending 5 lines"
timeout 30 "$ex/writer" --name "$name" --lines --timeout 5000 <<'EOF'
Hello from the writer process.
Each line is one message in the shared region:
the writer fills it, posts "may read", and waits for "may write";
the reader copies it out and posts "may write" back.
Next comes the line quit, which ends both programs.
quit
EOF
wrc=$?

# Wait for the reader, with a deadline (it has its own, this is a guard).
for _ in $(seq 100); do
	kill -0 "$reader" 2>/dev/null || break
	sleep 0.1
done
wait "$reader"
rrc=$?
reader=""

say "the reader printed:"
sed 's/^/    | /' "$out"
[ -s "$err" ] && sed 's/^/    ! /' "$err" >&2

left=$(leftovers)
say "writer exit $wrc, reader exit $rrc, left in /dev/shm: ${left:-nothing}"
[ "$wrc" -eq 0 ] && [ "$rrc" -eq 0 ] && [ -z "$left" ] || die "demo failed"
say "demo ok"
