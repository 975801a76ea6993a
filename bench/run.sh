#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the benchmark if needed, run it, and write docs/PERFORMANCE.md:
# machine, date, method, the target ratios, the measured tables and a plot
# (docs/performance.svg). The peers (Boost.Interprocess, ZeroMQ) and gnuplot
# are installed when this user may (scripts/deps.sh bench), left out with a
# note otherwise. Takes about 3 minutes, under 4; --quick under a minute.
# Never fails on a time: figures are reported, not asserted.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [--quick] [--no-install] [--output FILE] [-- shmx-bench options...]

Builds bench/shmx-bench (release, in build-bench/), runs it and writes the
report and its plot. The full run (about 3 minutes, under 4) writes
docs/PERFORMANCE.md and docs/performance.svg; --quick (under a minute)
writes build-bench/PERFORMANCE-quick.md unless --output says otherwise.
The peers and gnuplot (scripts/deps.sh bench) are installed with apt-get
when this user may (root, or sudo without a password) and --no-install is
not given; without them the report says what it left out. Options after
-- go to shmx-bench itself (see: build-bench/bench/shmx-bench --help).
EOF
}

# The legend's words for a series of the curve.
series_title() {
	case "$1" in
	chan-copy) echo "libshmx channel, send/recv" ;;
	chan-zc) echo "libshmx channel, zero-copy (every byte read)" ;;
	plain-ring) echo "plain spin ring (reference)" ;;
	memcpy) echo "memcpy, one process" ;;
	boost-mq) echo "Boost.Interprocess message_queue" ;;
	zmq-ipc) echo "ZeroMQ ipc://" ;;
	socket) echo "Unix socket" ;;
	pipe) echo "pipe" ;;
	*) echo "$1" ;;
	esac
}

# draw_curve CSV SVG TMPDIR: GB/s against message size, log-log, a line a
# series (shmx-bench --csv: key,series,kind,size,median_ns,...,gbps,...).
draw_curve() {
	local csv=$1 svg=$2 dir=$3 plots="" s
	for s in chan-copy chan-zc plain-ring memcpy boost-mq zmq-ipc socket pipe; do
		awk -F, -v s="$s" '$2 == s && $9 != "nan" { print $4, $9 }' "$csv" \
			>"$dir/curve-$s.dat"
		[ -s "$dir/curve-$s.dat" ] || continue
		plots+="${plots:+, }'$dir/curve-$s.dat' using 1:2 with linespoints"
		plots+=" title '$(series_title "$s")'"
	done
	[ -n "$plots" ] || return 1
	gnuplot 2>"$dir/gnuplot.err" <<EOF
set terminal svg size 960,600 dynamic font 'sans,12' background rgb 'white'
set output '$svg'
set title 'One-way throughput against message size (median of windows, one run)'
set logscale xy
set xlabel 'message size'
set ylabel 'GB/s'
set xtics ('8 B' 8, '64 B' 64, '256 B' 256, '1 KiB' 1024, '4 KiB' 4096, \\
	'16 KiB' 16384, '64 KiB' 65536, '256 KiB' 262144, '1 MiB' 1048576, \\
	'4 MiB' 4194304)
set grid
set key outside right top
plot $plots
EOF
}

# The Fan-out section's text, ahead of its tables (shmx-bench writes those).
fanout_notes() {
	cat <<EOF
Each window forks its own processes: a producer and 1 to 3 consumers, or
two producers and a consumer. The first producer creates the channels, the
others open them by name, and the producers start once every consumer is
attached. After a warm-up of a tenth of the window the parent, which only
sleeps, counts what the consumers receive during the window (each consumer
stores its count after every message); the figure is the messages each
consumer received per second. Messages are copied in and out
(\`shmx_chan_send\`, \`shmx_chan_recv\`) and carry their producer and
sequence number: a consumer that misses one, or gets one twice or out of
order, fails the window. "Broadcast" is one channel with a consumer slot
per consumer (two slots for one consumer: a single slot makes a queue);
"SPSC channels" is one channel per consumer, the producer sending each
message to each in turn. Every ring is the stream ring (${ring:-1024 KiB}).
Fan-in is two producers into one channel (two producer slots, one
consumer slot) against one producer into one, in the same group. The
round-trip rows are from the "Round trip, blocking" group: each side
waits in poll(2) on \`shmx_chan_fd()\` and receives with timeout 0 until
-EAGAIN (which re-arms the descriptor), against the blocking receive
(\`SHMX_CHAN_BLOCK\`, a futex) and a pipe.

What two vCPUs do to these figures: a producer and two consumers are three
processes on two CPUs, with three consumers four, and they take turns. The
processes are pinned round robin, producers first (the producer on CPU
0, the consumers on CPUs 1, 0, 1; for fan-in the producers on CPUs 0 and 1,
the consumer on CPU 0), the same for broadcast and for SPSC channels. With
one consumer each process has its own CPU, and broadcast and SPSC cost
about the same. From two consumers on, one consumer shares the producer's CPU
and runs only when the producer sleeps or is preempted. Per message that
CPU does one send and one receive for a broadcast, two sends and one
receive with SPSC channels; if sends and receives cost alike, the copies
alone would make broadcast 1.5x there. SPSC channels also cost more
wake-ups: a broadcast producer wakes every sleeping consumer with one
futex call, SPSC channels need one per channel, and each wake-up on a
shared CPU is a context switch. "Where the time goes" below gives the CPU
time and the switches per message. The rates are not bound by CPU time
alone, though: the processes also wait to be woken and scheduled, and
for the CPU time that other work on the machine takes (the load average
is in the Machine table), so the ratio of the rates comes out below the
ratio of the CPU costs and moves from run to run, as the host's placement
of the two vCPUs does (see the busy-spin floor above). Fan-in: the two
producers, on two CPUs, take the reservation lock in turn, and the lock
word and the head move between the CPUs for each message; how often the
producers actually run at once, and so that ratio, depends on what else
runs (on a busy machine three processes also get a bigger share of the
two CPUs than two do).

Every waiter uses \`SHMX_CHAN_BLOCK\`: it sleeps on the futex as soon as a
try finds nothing. A waiter that spins first (the default mode polls a few
thousand times before it sleeps; \`SHMX_CHAN_SPIN\` never sleeps) holds the
CPU that the process it waits for needs when both are on one CPU, and with
more processes than CPUs that is the common case; the "default (adaptive)"
rows show the two-consumer case with spinning waiters. The rates are far
below the two-process streams further down, which have a CPU per process,
spin, and leave out the sub-batches during which a process was preempted:
here taking turns is what is measured, and nothing is left out.
EOF
}

quick=0
install=1
output=""
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	-q | --quick) quick=1 ;;
	--no-install) install=0 ;;
	-o | --output)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		output=$2
		shift
		;;
	-h | --help) usage; exit 0 ;;
	--) shift; extra=("$@"); break ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

export SHMX_BUILD=${SHMX_BUILD_BENCH:-$(cd "$(dirname "$0")/.." && pwd)/build-bench}
# shellcheck source=../scripts/common.sh
source "$(dirname "$0")/../scripts/common.sh"
cd "$SHMX_TOP"

# apt-get without asking anyone: as root, or through sudo with no password.
may_install() {
	[ $install -eq 1 ] && command -v apt-get >/dev/null || return 1
	[ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null
}

# The build group is needed; the bench group (peers, gnuplot) is optional.
shmx_deps build
optional=$(shmx_missing bench | tr '\n' ' ')
if [ -n "${optional// /}" ]; then
	if may_install; then
		# shellcheck disable=SC2086
		(shmx_apt $optional) || say "could not install $optional: left out"
	else
		say "not installing $optional: left out of the report"
	fi
fi

# Only the library and the benchmark: nothing else has to build for this.
# meson looks for the peers when it configures: configure again when what
# is installed has changed since.
stamp=$SHMX_BUILD/.bench-missing
missing_now=$(shmx_missing bench | tr '\n' ' ')
if [ -f "$SHMX_BUILD/build.ninja" ] &&
	[ "$(cat "$stamp" 2>/dev/null)" != "$missing_now" ]; then
	say "reconfiguring $SHMX_BUILD (installed packages changed)"
	meson setup --reconfigure "$SHMX_BUILD" "$SHMX_TOP" >/dev/null ||
		die "meson setup --reconfigure failed"
fi
shmx_build "$SHMX_BUILD" --buildtype=release -Dtests=false -Dexamples=false \
	-Dtools=false -Dman=false -Dbench=true
printf '%s' "$missing_now" >"$stamp"
bench=$SHMX_BUILD/bench/shmx-bench
[ -x "$bench" ] || die "$bench was not built"

if [ -z "$output" ]; then
	if [ $quick -eq 1 ]; then
		output=$SHMX_BUILD/PERFORMANCE-quick.md
	else
		output=$SHMX_TOP/docs/PERFORMANCE.md
	fi
fi

tmp=$(mktemp -d /tmp/shmx-bench-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

args=(--markdown "$tmp/tables.md" --csv "$tmp/results.csv")
[ $quick -eq 1 ] && args+=(--quick)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "running $bench ${args[*]} ${extra[*]:-}"
"$bench" "${args[@]}" ${extra[@]+"${extra[@]}"} | tee "$tmp/stdout.txt"

# A Python consumer on a channel against multiprocessing.Queue and Pipe
# (python/bench_binding.py), with the library just built.
pyrun=(--count 50000 --runs 3)
[ $quick -eq 1 ] && pyrun=(--count 5000 --runs 1)
: >"$tmp/python.md"
if command -v python3 >/dev/null && [ -e "$SHMX_BUILD/src/libshmx.so.0" ]; then
	say "running python/bench_binding.py ${pyrun[*]}"
	SHMX_LIBRARY=$SHMX_BUILD/src/libshmx.so.0 PYTHONPATH=$SHMX_TOP/python \
		PYTHONDONTWRITEBYTECODE=1 python3 "$SHMX_TOP/python/bench_binding.py" \
		"${pyrun[@]}" --markdown "$tmp/python.md" ||
		printf '\n## Python consumer\n\npython/bench_binding.py failed.\n' \
			>"$tmp/python.md"
else
	printf '\n## Python consumer\n\nNot measured: no python3 or no shared libshmx.\n' \
		>"$tmp/python.md"
fi

# shmx-bridge over NATS (bench/bridge.sh), when nats-server and libnats-dev are there.
: >"$tmp/bridge.md"
if [ -z "$(shmx_missing bridge | grep -E 'nats')" ]; then
	bench/bridge.sh $([ $quick -eq 1 ] && echo --quick) --output "$tmp/bridge.md" ||
		printf '\n## shmx-bridge\n\nbench/bridge.sh failed.\n' >"$tmp/bridge.md"
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null || ldd --version | head -n1)
compiler=$(cc --version | head -n1)
commit=$(git -C "$SHMX_TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
timer=$(sed -n 's/.*timer \([0-9]*\) ns.*/\1/p' "$tmp/stdout.txt" | head -n1)
ring=$(sed -n 's/.*stream ring \([0-9]*\) KiB.*/\1 KiB/p' "$tmp/stdout.txt" | head -n1)
sparse=$(sed -n 's/.*off the targets \([0-9]*\)%.*/\1/p' "$tmp/stdout.txt" | head -n1)
# before the report is opened: writing it makes the tree dirty
version=$(git -C "$SHMX_TOP" describe --always --dirty 2>/dev/null || echo "$commit")
cmd="bench/run.sh${*:+ $*}"
[ $quick -eq 1 ] && cmd="bench/run.sh --quick"

# How the fan-out figures were taken, and what two vCPUs do to them.
fanout_notes >"$tmp/fanout-notes.md"

# The curve as a picture when gnuplot is there; a note otherwise.
plot="(No plot: gnuplot is not installed; scripts/deps.sh bench installs it.)"
if command -v gnuplot >/dev/null 2>&1; then
	svg=$(dirname "$output")/performance.svg
	if draw_curve "$tmp/results.csv" "$svg" "$tmp"; then
		plot="![One-way throughput against message size]($(basename "$svg"))"
	else
		plot="(No plot: no curve was measured, or gnuplot failed.)"
		[ ! -s "$tmp/gnuplot.err" ] || cat "$tmp/gnuplot.err" >&2
	fi
fi

{
	cat <<EOF
# libshmx performance

Generated by \`$cmd\` (bench/shmx-bench.c); do not edit by hand.
Figures are from one run on the machine below. This machine is a small,
shared VM: absolute times drift several-fold from run to run, the ratios
measured side by side in one run are what holds.

## Machine

| | |
|---|---|
| CPU | ${cpu:-unknown} |
| vCPUs | $(nproc) |
| kernel | $(uname -r) |
| glibc | $glibc |
| compiler | $compiler |
| libshmx | $version |
| date | $(date -u '+%Y-%m-%d %H:%M UTC') |
| load average (1, 5, 15 min) | before: $load_before; after: $load_after |

## Method

- Each item runs in several windows of a fixed number of operations,
  calibrated once so that a window lasts the stated time. The items of one
  group (a libshmx item and its baselines) are interleaved window by window,
  in alternating order (A B C, C B A, ...), so drift of the machine hits
  them alike. "median per op" is the median over windows; IQR is half the
  inter-quartile range of the windows, in percent of the median. A window
  of a round trip or a single-process item is timed in up to 128
  sub-batches of at least 100 operations and counts the median of their
  means, leaving out the sub-batches during which either process was
  preempted (its involuntary context-switch count moved; "left out" says
  how many were) as long as 3 were not: a neighbour taking our CPU
  measures the neighbour, and pulls every ratio towards 1. A group
  that overruns its share of the time budget stops after 3 windows or
  more (the windows column says how many).
- Two-process items fork a fresh child for each window; parent and child
  are pinned to two different CPUs (sched_setaffinity), the same for every
  item. Each window warms up (a tenth of its operations) before timing.
- Round trips: the parent sends, the child answers, 8 bytes. The batch
  gives the median; after it, up to 2000 round trips per window are timed
  one by one (CLOCK_MONOTONIC, timer cost of ${timer:-?} ns subtracted) and
  pooled for p50, p99 and p99.9 (with 15 windows, p99.9 rests on about 30
  samples; in a --quick run it is only indicative).
- Every libshmx wait is given a 5 s timeout (a deadline, as a careful user
  would); the raw baselines wait without one. The peers get theirs as
  their users would: ZeroMQ a 5 s ZMQ_SNDTIMEO/ZMQ_RCVTIMEO, Boost one
  deadline per batch of operations (timed_send/timed_receive take an
  absolute time; reading the clock per message would cost Boost more).
- One-way throughput, at 8 B and every power of 4 from 16 B to 4 MiB: the
  parent sends, the child receives each message into its own buffer (one
  read per message for pipe and socket, looping only on short reads).
  After the warm-up the stream is in its steady state, where the producer
  goes only as fast as the consumer takes; the producer times sub-batches
  of at least four ring-fulls (at least 64 messages) and the window counts
  their median, as above. A window too short for two sub-batches is timed
  end to end, until the child acknowledges the last message through shared
  memory. The sizes the targets name (64 B, 4 KiB, 1 MiB) get the full
  windows; the others ${sparse:-40}% as many windows, each ${sparse:-40}% as long.
- Zero-copy does the same work on the data as a copy: the producer writes
  every byte of the message in place (memset), and the consumer reads
  every byte in place, summing it into a checksum that it reports at the
  end of the window; the producer checks it against what it wrote and the
  window fails if it differs. memcpy is one process copying between the
  same two buffers (in cache up to the cache's size); the 256 MiB line
  copies 1 MiB blocks walking through 256 MiB, so every block comes from
  memory. Stream channels use a ${ring:-1024 KiB} ring (raised to hold 4
  messages: 4 MiB for 1 MiB messages, 16 MiB for 4 MiB), in the default
  (adaptive) wait mode; round-trip channels a 64 KiB ring. The ring
  capacity group shows how much the ring's size matters at 4 KiB.
- Peers a user might pick instead, when their packages were installed:
  Boost.Interprocess \`message_queue\` (the parent creates the queue, the
  child opens it by name; a stream's queue holds as many messages as the
  channel's ring holds bytes) and ZeroMQ PAIR sockets over \`ipc://\`
  (abstract Unix socket, the library's defaults; each process has its own
  context, whose I/O thread may run on both CPUs). Both copy in and
  out, so they are compared with the better of the channel's copy and
  zero-copy figures, like the kernel baselines.
- "plain spin ring" is a reference, not a target: the simplest SPSC ring
  two processes can share (fixed slots of the message size in the same
  ring size, head and tail on their own cache lines, memcpy in and out,
  pure spinning, no checks). It shows what the two cores can move at all;
  the "(ref)" ratios compare the channel with it.
- The busy-spin floor is two processes passing a counter on one cache line
  with plain loads (no pause). On this VM it is bimodal: about 60-70 ns
  when the host runs the two vCPUs on nearby cores, 300 ns and more when
  it does not, and the host can switch within a run. A fixed software cost
  weighs twice as much against the low floor: read the spin ratio with the
  floor's figure next to it. The raw futex baseline always calls
  FUTEX_WAKE and sleeps in FUTEX_WAIT whenever the value is not there yet.
  The raw sem_open pair is two named semaphores with sem_post/sem_wait,
  set up like the libshmx pair ("may write" starts at 1).
- Region create+destroy: shmx_create(name, 4096, 0, 0) + shmx_close +
  shmx_unlink, against shm_open(O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC|O_NOFOLLOW)
  + fchmod + ftruncate + posix_fallocate + close + shm_unlink; one line adds
  mmap/munmap to the raw sequence for reference.
- Ratios are medians over windows of the ratio between windows run next to
  each other (p50 ratios use the pooled samples). For throughput targets
  the better of copy and zero-copy counts; the table says which.
- All names are /shmx-bench-<pid>-<n>; the program removes them, also when
  interrupted. It never fails on a time.
- The batch item sends with shmx_chan_send_batch() and receives with
  shmx_chan_recv_batch(), up to 32 messages a call on each side.
- Fan-out and fan-in items (one producer to 1-3 consumers, two producers
  to one consumer) run more than two processes and are timed by the clock
  instead: see the Fan-out section.
- Python consumer (last section): python/bench_binding.py after the C
  benchmark, in the same run: a forked Python producer and a Python
  consumer, 64-byte messages, on a libshmx channel (in batches through
  send_many() and iteration, and one call a message through send() and
  recv()), on multiprocessing.Queue and on multiprocessing.Pipe (send_bytes,
  recv_bytes); best of 3 interleaved runs of 50000 messages each. The
  processes are not pinned.

EOF
	printf '## Plot\n\n%s\n\n' "$plot"
	# the tables come from shmx-bench; how to read them, from here
	awk -v notes="$tmp/fanout-notes.md" '
		{ print }
		/^## Fan-out$/ { print ""; while ((getline l < notes) > 0) print l }
	' "$tmp/tables.md"
	cat "$tmp/python.md"
	cat "$tmp/bridge.md"
} >"$output"
say "wrote $output"
