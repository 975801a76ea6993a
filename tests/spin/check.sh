#!/usr/bin/env bash
# Model-check a Promela model with SPIN, as a TAP test.
#   check.sh MODEL.pml             every check passes
#   check.sh MODEL.pml -DMUTATION  the model compiled with MUTATION, a macro
#                                  that puts a known bug back, fails at
#                                  least one check: the model can see it
# The checks: safety (assertions, and no invalid end state: a process stuck
# for good is a lost turn or a missed wake-up), then each ltl claim of the
# model under weak fairness.
set -uo pipefail
model=$1
mutation=${2:-}
name=$(basename "$model")

if ! command -v spin >/dev/null || ! command -v cc >/dev/null; then
	echo "1..0 # SKIP spin (Debian package spin) is not installed"
	exit 0
fi
work=$(mktemp -d /tmp/shmx-spin.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$model" "$work/model.pml"
cd "$work" || exit 1

# shellcheck disable=SC2086
if ! spin $mutation -a model.pml >spin.log 2>&1; then
	sed 's/^/# /' spin.log
	echo "1..1"
	echo "not ok 1 - $name: spin -a failed"
	exit 0
fi
cc -O2 -w -DSAFETY -DNOCLAIM -DVECTORSZ=4096 -o pan-safe pan.c || exit 1
# The ltl claims' verifier is built when a claim is checked (a mutation
# is mostly caught by safety), from the model with the defines of its
# line "/* check.sh: ltl with -DNAME=VALUE ... */", if any: a smaller
# bound for the claims under weak fairness, which cost several times the
# safety search.
ltl_defs=$(sed -n 's|^/\* check.sh: ltl with \(.*\) \*/$|\1|p' model.pml)
build_ltl() {
	[ -x pan ] && return 0
	mkdir -p ltl && cp model.pml ltl/ || return 1
	# shellcheck disable=SC2086
	(cd ltl && spin $mutation $ltl_defs -a model.pml >spin.log 2>&1 &&
		cc -O2 -w -DNFAIR=3 -DVECTORSZ=4096 -o ../pan pan.c)
}

checks=("safety")
for c in $(grep -oE '^ltl[[:space:]]+[A-Za-z_][A-Za-z0-9_]*' model.pml | awk '{print $2}'); do
	checks+=("$c")
done

# verify CHECK: 0 when SPIN finds no error.
verify() {
	if [ "$1" = safety ]; then
		./pan-safe -m2000000 >out.txt 2>&1
	else
		build_ltl || return 1
		./pan -a -f -m2000000 -N "$1" >out.txt 2>&1
	fi
	grep -q 'errors: 0' out.txt
}

if [ -z "$mutation" ]; then
	echo "1..${#checks[@]}"
	i=0
	for c in "${checks[@]}"; do
		i=$((i + 1))
		bound=""
		[ "$c" != safety ] && [ -n "$ltl_defs" ] && bound=" (with $ltl_defs)"
		if verify "$c"; then
			echo "ok $i - $name: $c$bound"
		else
			echo "not ok $i - $name: $c$bound"
			grep -E 'violated|error|errors:|depth reached' out.txt | sed 's/^/# /'
		fi
	done
	exit 0
fi

echo "1..1"
caught=()
# One failing check is enough to show the model sees the bug: stop there.
for c in "${checks[@]}"; do
	if ! verify "$c"; then
		caught+=("$c")
		break
	fi
done
if [ ${#caught[@]} -gt 0 ]; then
	echo "ok 1 - $name with $mutation is caught by: ${caught[*]} (the first check that fails)"
else
	echo "not ok 1 - $name with $mutation passes every check: the model misses the bug"
fi
