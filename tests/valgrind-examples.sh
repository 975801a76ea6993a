#!/bin/sh
# SPDX-License-Identifier: MIT
# TAP: the built examples under valgrind's memcheck. Any memcheck error or
# definite leak fails the program's line (--error-exitcode=99).
#   valgrind-examples.sh WRITER READER CHAN-PRODUCER CHAN-CONSUMER
# A program that was not built is skipped; without valgrind, all is.
set -u

writer=${1:-}
reader=${2:-}
producer=${3:-}
consumer=${4:-}
deadline=120            # seconds per program (timeout(1))
tmp=$(mktemp -d /tmp/shmx-vg.XXXXXX) || exit 1
base="shmx-test-vg-$$"

cleanup() {
	# Only this run's names: /shmx-test-vg-<our pid>-*.
	rm -f /dev/shm/"$base"-* /dev/shm/sem."$base"-*
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..1"
	echo "ok 1 # SKIP valgrind is not installed"
	exit 0
fi

vg() {
	timeout -k 10 "$deadline" valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite "$@"
}

n=0
failed=0
plan=9
echo "1..$plan"

# ok/not ok for one line; $1 = condition status, $2 = description, $3 = log
report() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2 (exit $1)"
		[ -n "${3:-}" ] && [ -s "$3" ] && sed 's/^/# /' "$3"
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}

built() {
	[ -n "$1" ] && [ -x "$1" ]
}

# writer | reader through one region: writer $1 = name, the rest = options
pair_run() {
	name=$1 tag=$2
	shift 2
	vg "$reader" --name "$name" --timeout 60000 >"$tmp/$tag.out" 2>"$tmp/$tag.rlog" &
	rpid=$!
	vg "$writer" --name "$name" --timeout 60000 "$@" <"$tmp/$tag.in" >/dev/null \
		2>"$tmp/$tag.wlog"
	wst=$?
	wait "$rpid"
	rst=$?
}

# 1-3: a few KiB of bytes, all through
if built "$writer" && built "$reader"; then
	i=0
	while [ $i -lt 600 ]; do
		echo "line $i: the quick brown fox jumps over the lazy dog"
		i=$((i + 1))
	done >"$tmp/bytes.in"
	pair_run "/$base-bytes" bytes --size 4K
	report "$wst" "writer under memcheck ($(wc -c <"$tmp/bytes.in") bytes)" "$tmp/bytes.wlog"
	report "$rst" "reader under memcheck" "$tmp/bytes.rlog"
	cmp -s "$tmp/bytes.in" "$tmp/bytes.out"
	report $? "reader's output is the writer's input"
else
	skip "writer or reader not built"
	skip "writer or reader not built"
	skip "writer or reader not built"
fi

# 4-6: --lines, ended by "quit"
if built "$writer" && built "$reader"; then
	printf 'hello\nshared memory\nquit\nnot sent\n' >"$tmp/lines.in"
	pair_run "/$base-lines" lines --lines
	report "$wst" "writer --lines under memcheck" "$tmp/lines.wlog"
	report "$rst" "reader of --lines under memcheck" "$tmp/lines.rlog"
	printf 'hello\nshared memory\n' | cmp -s - "$tmp/lines.out"
	report $? "--lines: the lines before \"quit\", nothing after"
else
	skip "writer or reader not built"
	skip "writer or reader not built"
	skip "writer or reader not built"
fi

# 7-9: the channel producer and consumer
if built "$producer" && built "$consumer"; then
	name="/$base-chan"
	i=0
	while [ $i -lt 2000 ]; do
		echo "message $i"
		i=$((i + 1))
	done >"$tmp/chan.in"
	vg "$producer" "$name" <"$tmp/chan.in" >/dev/null 2>"$tmp/chan.plog" &
	ppid_=$!
	vg "$consumer" "$name" >"$tmp/chan.out" 2>"$tmp/chan.clog"
	cst=$?
	wait "$ppid_"
	pst=$?
	report "$pst" "chan-producer under memcheck" "$tmp/chan.plog"
	report "$cst" "chan-consumer under memcheck" "$tmp/chan.clog"
	cmp -s "$tmp/chan.in" "$tmp/chan.out"
	report $? "chan-consumer printed every message once, in order"
else
	skip "chan-producer or chan-consumer not built"
	skip "chan-producer or chan-consumer not built"
	skip "chan-producer or chan-consumer not built"
fi

[ "$failed" -eq 0 ]
