#!/usr/bin/env bash
# Runs each libFuzzer target for a while: ./scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets: name chan-header chan-consumer (default: all of them).
# Built by meson with clang (-Dfuzz=true, ASan+UBSan) in build-fuzz/. New
# inputs go to build-fuzz/corpus-TARGET; the seeds in tests/fuzz/corpus
# stay as they are. Crashes are saved as build-fuzz/crash-* and make the
# script fail.
set -uo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
-h|--help)
	sed -n '2,7s/^# \{0,1\}//p' "$0"
	exit 0 ;;
esac
secs=${1:-60}
shift || true
[[ "$secs" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, got '$secs'"

shmx_deps fuzz
out="$SHMX_TOP/build-fuzz"
CC=clang shmx_build "$out" -Dfuzz=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbench=false -Dexamples=false -Dtools=false \
	-Ddefault_library=static
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(name chan-header chan-consumer)

status=0
for t in "${targets[@]}"; do
	exe="$out/tests/fuzz/fuzz-$t"
	[ -x "$exe" ] || die "no fuzz target '$t'"
	corpus="$out/corpus-$t"
	mkdir -p "$corpus"
	say "fuzzing $t for ${secs}s"
	if (cd "$out" && UBSAN_OPTIONS=halt_on_error=1 "$exe" -max_total_time="$secs" \
		-timeout=10 -print_final_stats=1 "$corpus" \
		"$SHMX_TOP/tests/fuzz/corpus/$t" >"$out/fuzz-$t.log" 2>&1); then
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
