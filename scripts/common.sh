# Sourced by demo.sh and test.sh: install what is missing, then build.
# Idempotent: a second run installs nothing and only rebuilds what changed.

SHMX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHMX_BUILD=${SHMX_BUILD:-$SHMX_TOP/build}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian package for each thing we need, checked by a command that fails
# when it is missing.
shmx_missing_packages() {
	local pkgs=()
	command -v meson >/dev/null || pkgs+=(meson)
	command -v ninja >/dev/null || pkgs+=(ninja-build)
	command -v pkg-config >/dev/null || pkgs+=(pkg-config)
	command -v cc >/dev/null || pkgs+=(gcc)
	command -v c++ >/dev/null || pkgs+=(g++)
	pkg-config --exists cmocka 2>/dev/null || pkgs+=(libcmocka-dev)
	for extra in "$@"; do
		case "$extra" in
		python3) command -v python3 >/dev/null || pkgs+=(python3) ;;
		clang) command -v clang >/dev/null || pkgs+=(clang) ;;
		valgrind) command -v valgrind >/dev/null || pkgs+=(valgrind) ;;
		setpriv) command -v setpriv >/dev/null || pkgs+=(util-linux) ;;
		spin) command -v spin >/dev/null || pkgs+=(spin) ;;
		esac
	done
	printf '%s\n' "${pkgs[@]}"
}

shmx_install_deps() {
	shmx_install_pkgs $(shmx_missing_packages "$@" | sort -u)
}

# shmx_install_pkgs PKG...: apt-get install them (as root or through sudo).
shmx_install_pkgs() {
	local pkgs="$*" sudo=""
	[ -n "${pkgs// /}" ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "missing packages: $pkgs (install them, or run as root)"
		sudo="sudo"
	fi
	command -v apt-get >/dev/null || die "missing packages: $pkgs (no apt-get here: install them by hand)"
	say "installing: $pkgs"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null || die "apt-get update failed"
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null ||
		die "apt-get install $pkgs failed"
}

# shmx_build DIR [meson options...]
shmx_build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		say "configuring $dir"
		meson setup "$dir" "$SHMX_TOP" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log" >&2; die "meson setup failed"; }
		rm -f "$dir.setup.log"
	fi
	say "building $dir"
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 ||
		{ cat "$dir.ninja.log" >&2; die "build failed"; }
	rm -f "$dir.ninja.log"
}
