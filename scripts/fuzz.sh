#!/usr/bin/env bash
# Runs each libFuzzer target for a while: ./scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets: name chan-header chan-consumer (default: all that exist).
# New inputs go to build-fuzz/corpus-TARGET; the seeds in tests/fuzz/corpus stay as they are.
# Crashes are saved as build-fuzz/crash-* and make the script fail.
set -uo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
-h|--help)
	sed -n '2,5s/^# \{0,1\}//p' "$0"
	exit 0 ;;
esac
secs=${1:-60}
shift || true
[[ "$secs" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, got '$secs'"

shmx_install_deps clang
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){return 0;}' |
	clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
	shmx_install_pkgs libclang-rt-dev
fi

out="$SHMX_TOP/build-fuzz"
mkdir -p "$out"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$SHMX_TOP"/tests/fuzz/fuzz-*.c; do
		t=${f##*/fuzz-}
		targets+=("${t%.c}")
	done
fi

status=0
for t in "${targets[@]}"; do
	src="$SHMX_TOP/tests/fuzz/fuzz-$t.c"
	[ -f "$src" ] || die "no fuzz target '$t'"
	say "building fuzz-$t"
	clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined \
		-I"$SHMX_TOP/include" -I"$SHMX_TOP/src" -I"$SHMX_TOP/tests/fuzz" \
		"$SHMX_TOP"/src/*.c "$src" -o "$out/fuzz-$t" ||
		die "building fuzz-$t failed"
	corpus="$out/corpus-$t"
	mkdir -p "$corpus"
	say "fuzzing $t for ${secs}s"
	if (cd "$out" && "./fuzz-$t" -max_total_time="$secs" -timeout=10 \
		-print_final_stats=1 "$corpus" "$SHMX_TOP/tests/fuzz/corpus/$t" \
		>"$out/fuzz-$t.log" 2>&1); then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz-$t.log" |
			grep -o '[0-9]*$')
		echo "fuzz-$t: ${secs}s, ${runs:-?} runs, no crash"
	else
		echo "fuzz-$t: FAILED, see $out/fuzz-$t.log"
		tail -30 "$out/fuzz-$t.log"
		status=1
	fi
done
exit $status
