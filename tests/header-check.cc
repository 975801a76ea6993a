// SPDX-License-Identifier: MIT
// The public header from C++ (extern "C", no C-only constructs):
//   c++ -std=c++11 -pedantic -Werror -Wall -Wextra header-check.cc
//       $(pkg-config --cflags --libs libshmx)
#include <shmx.h>

#include <cstring>

static_assert(SHMX_VERSION_AT_LEAST(0, 1, 0), "version macro");

int main()
{
	int (*create)(const char *, size_t, unsigned, mode_t, shmx_region **) = shmx_create;
	shmx_region *r = nullptr;
	shmx_info info = {};
	shmx_chan_info ci = {};

	r = shmx_close(r);
	// Unevaluated calls: prototypes checked, nothing linked.
	static_assert(sizeof(shmx_chan_peek(nullptr, nullptr, 0)) == sizeof(ssize_t), "peek");
	if (r || shmx_size(r) != 0 || shmx_fd(r) >= 0 || !create)
		return 1;
	if (info.size || ci.capacity || info.holders & SHMX_HOLDERS_UNKNOWN)
		return 1;
	return std::strcmp(shmx_version(), SHMX_VERSION_STRING) == 0 ? 0 : 1;
}
