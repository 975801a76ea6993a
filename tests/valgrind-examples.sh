#!/bin/sh
# SPDX-License-Identifier: MIT
# TAP: the built examples and shmx send / shmx recv under valgrind's
# memcheck. Any memcheck error or definite leak fails the program's line
# (--error-exitcode=99).
#   valgrind-examples.sh WRITER READER CHAN-PRODUCER CHAN-CONSUMER SHMX
# A program that was not built (or is given as "") is skipped; without
# valgrind, all is.
set -u

writer=${1:-}
reader=${2:-}
producer=${3:-}
consumer=${4:-}
shmx=${5:-}
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
echo "1..15"

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

# skip COUNT REASON
skip() {
	i=0
	while [ $i -lt "$1" ]; do
		n=$((n + 1))
		echo "ok $n # SKIP $2"
		i=$((i + 1))
	done
}

built() {
	[ -n "$1" ] && [ -x "$1" ]
}

# Lines of text into $1.
lines() {
	i=0
	while [ $i -lt "$2" ]; do
		echo "line $i: the quick brown fox jumps over the lazy dog"
		i=$((i + 1))
	done >"$1"
}

# The receiver of TAG in the background (output to $tmp/TAG.out), then the
# sender fed with $tmp/TAG.in; exit statuses in $sst and $rst.
recv_bg() {
	tag=$1
	shift
	vg "$@" >"$tmp/$tag.out" 2>"$tmp/$tag.rlog" &
	rpid=$!
}

send_fg() {
	tag=$1
	shift
	vg "$@" <"$tmp/$tag.in" >/dev/null 2>"$tmp/$tag.slog"
	sst=$?
	wait "$rpid"
	rst=$?
}

# 1-3: the short pair, a line a turn
if built "$writer" && built "$reader"; then
	lines "$tmp/pair.in" 300
	recv_bg pair "$reader" "/$base-pair"
	send_fg pair "$writer" "/$base-pair"
	report "$sst" "writer under memcheck (300 lines)" "$tmp/pair.slog"
	report "$rst" "reader under memcheck" "$tmp/pair.rlog"
	cmp -s "$tmp/pair.in" "$tmp/pair.out"
	report $? "reader printed the writer's lines, in order"
else
	skip 3 "writer or reader not built"
fi

# 4-6: the channel producer and consumer
if built "$producer" && built "$consumer"; then
	lines "$tmp/chan.in" 2000
	recv_bg chan "$consumer" "/$base-chan"
	send_fg chan "$producer" "/$base-chan"
	report "$sst" "chan-producer under memcheck" "$tmp/chan.slog"
	report "$rst" "chan-consumer under memcheck" "$tmp/chan.rlog"
	cmp -s "$tmp/chan.in" "$tmp/chan.out"
	report $? "chan-consumer printed every message once, in order"
else
	skip 3 "chan-producer or chan-consumer not built"
fi

# 7-12: shmx send | shmx recv, binary through a channel, then a pair
if built "$shmx"; then
	head -c 300000 /dev/urandom >"$tmp/bin.in"
	for mode in channel pair; do
		opt=""
		[ "$mode" = pair ] && opt="--pair"
		cp "$tmp/bin.in" "$tmp/$mode.in"
		# shellcheck disable=SC2086
		recv_bg "$mode" "$shmx" recv "/$base-$mode" $opt --timeout 60000
		# shellcheck disable=SC2086
		send_fg "$mode" "$shmx" send "/$base-$mode" $opt --size 4K --timeout 60000
		report "$sst" "shmx send ($mode) under memcheck" "$tmp/$mode.slog"
		report "$rst" "shmx recv ($mode) under memcheck" "$tmp/$mode.rlog"
		cmp -s "$tmp/bin.in" "$tmp/$mode.out"
		report $? "shmx recv ($mode): the bytes sent, unchanged"
	done
else
	skip 6 "shmx not built"
fi

# 13-15: --lines, ended by "quit"
if built "$shmx"; then
	printf 'hello\nshared memory\nquit\nnot sent\n' >"$tmp/lines.in"
	recv_bg lines "$shmx" recv "/$base-lines" --timeout 60000
	send_fg lines "$shmx" send "/$base-lines" --lines --timeout 60000
	report "$sst" "shmx send --lines under memcheck" "$tmp/lines.slog"
	report "$rst" "shmx recv of --lines under memcheck" "$tmp/lines.rlog"
	printf 'hello\nshared memory\n' | cmp -s - "$tmp/lines.out"
	report $? "--lines: the lines before \"quit\", nothing after"
else
	skip 3 "shmx not built"
fi

left=$(ls -A /dev/shm | grep -F "$base" || true)
if [ -n "$left" ]; then
	echo "# left in /dev/shm: $left"
	failed=$((failed + 1))
fi
[ "$failed" -eq 0 ]
