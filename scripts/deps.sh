#!/usr/bin/env bash
# The one place that installs what libshmx's scripts need, with apt-get, as
# root or through sudo; a second run installs nothing.
#   scripts/deps.sh [GROUP...]     (also sourced: shmx_deps GROUP...)
# Groups: build (meson, ninja, pkg-config, gcc, g++, cmocka; always
# included), test (python3, setpriv, valgrind, spin, cmake, systemd-analyze), fuzz (clang and its
# libFuzzer runtime), bench (the peers the benchmark compares with, Boost
# message_queue and ZeroMQ, and gnuplot for its plot), bridge (nats-server
# and the NATS C client, for shmx-bridge and its tests), python (venv, pip,
# setuptools and wheel for Debian's python3, to install the binding offline,
# and mypy), pkg (.deb building, lintian, mmdebstrap), musl and arm64
# (scripts/cross.sh: musl-gcc; the aarch64 compiler, qemu-user, arm64 cmocka).

shmx_say() { printf '==> %s\n' "$*" >&2; }
shmx_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian package for each thing a group needs, checked by a command that
# fails when it is missing.
shmx_missing() {
	local pkgs=()
	command -v meson >/dev/null || pkgs+=(meson)
	command -v ninja >/dev/null || pkgs+=(ninja-build)
	command -v pkg-config >/dev/null || pkgs+=(pkg-config)
	command -v cc >/dev/null || pkgs+=(gcc)
	command -v c++ >/dev/null || pkgs+=(g++)
	pkg-config --exists cmocka 2>/dev/null || pkgs+=(libcmocka-dev)
	for group in "$@"; do
		case "$group" in
		build) ;;
		bench)
			[ -f /usr/include/boost/interprocess/ipc/message_queue.hpp ] ||
				pkgs+=(libboost-dev)
			pkg-config --exists libzmq 2>/dev/null || pkgs+=(libzmq3-dev)
			command -v gnuplot >/dev/null || pkgs+=(gnuplot-nox)
			;;
		test)
			command -v python3 >/dev/null || pkgs+=(python3)
			command -v setpriv >/dev/null || pkgs+=(util-linux)
			command -v valgrind >/dev/null || pkgs+=(valgrind)
			command -v spin >/dev/null || pkgs+=(spin)
			command -v cmake >/dev/null || pkgs+=(cmake)
			# systemd-analyze verify/security for shmx-gc.service
			command -v systemd-analyze >/dev/null || pkgs+=(systemd)
			;;
		bridge)
			command -v nats-server >/dev/null || pkgs+=(nats-server)
			pkg-config --exists libnats 2>/dev/null || pkgs+=(libnats-dev)
			;;
		python)
			local py=/usr/bin/python3
			[ -x "$py" ] || pkgs+=(python3)
			"$py" -c 'import ensurepip, venv' 2>/dev/null || pkgs+=(python3-venv)
			"$py" -c 'import setuptools' 2>/dev/null || pkgs+=(python3-setuptools)
			"$py" -c 'import pip, wheel' 2>/dev/null || pkgs+=(python3-pip python3-wheel)
			command -v mypy >/dev/null || pkgs+=(mypy)
			;;
		musl)
			# scripts/cross.sh musl: musl-gcc with the kernel's
			# headers, cmocka's source package and cmake to build it
			command -v musl-gcc >/dev/null || pkgs+=(musl-tools)
			[ -f /usr/include/linux/futex.h ] || pkgs+=(linux-libc-dev)
			command -v dpkg-source >/dev/null || pkgs+=(dpkg-dev)
			command -v xz >/dev/null || pkgs+=(xz-utils)
			command -v cmake >/dev/null || pkgs+=(cmake)
			;;
		arm64)
			# scripts/cross.sh arm64: the aarch64 compiler, qemu-user
			# registered with binfmt_misc, arm64 cmocka and libpython
			# (cross.sh adds the arm64 architecture to dpkg first)
			command -v aarch64-linux-gnu-gcc >/dev/null ||
				pkgs+=(gcc-aarch64-linux-gnu)
			command -v qemu-aarch64-static >/dev/null || pkgs+=(qemu-user-static)
			command -v update-binfmts >/dev/null || pkgs+=(binfmt-support)
			for p in libcmocka-dev:arm64 "libpython$(shmx_pyver):arm64"; do
				dpkg-query -W -f '${Status}' "$p" 2>/dev/null |
					grep -q 'ok installed' || pkgs+=("$p")
			done
			;;
		fuzz)
			command -v clang >/dev/null || pkgs+=(clang)
			echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){return 0;}' |
				clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null ||
				pkgs+=(libclang-rt-dev)
			;;
		pkg)
			# debian/control's Build-Depends must be Debian's packages,
			# whatever else provides the command (pip's meson, pyenv)
			local p
			for p in dpkg-dev debhelper dh-python lintian mmdebstrap git libnats-dev \
				meson ninja-build pkg-config python3; do
				dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
					grep -q ' installed$' || pkgs+=("$p")
			done
			;;
		*) shmx_die "scripts/deps.sh: unknown group '$group'" ;;
		esac
	done
	printf '%s\n' "${pkgs[@]}" | sort -u
}

# The version of the system's python3 (3.11), whose library the arm64
# python is (scripts/cross.sh).
shmx_pyver() {
	python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null ||
		echo 3.11
}

# shmx_apt PKG...: apt-get install them.
shmx_apt() {
	local pkgs="$*" sudo=""
	[ -n "${pkgs//[[:space:]]/}" ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null ||
			shmx_die "missing packages: $pkgs (install them, or run as root)"
		sudo="sudo"
	fi
	command -v apt-get >/dev/null ||
		shmx_die "missing packages: $pkgs (no apt-get here: install them by hand)"
	shmx_say "installing: $pkgs"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null || shmx_die "apt-get update failed"
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null ||
		shmx_die "apt-get install $pkgs failed"
}

shmx_deps() {
	# shellcheck disable=SC2046
	shmx_apt $(shmx_missing "$@")
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	esac
	shmx_deps "$@"
fi
