/* SPDX-License-Identifier: MIT */
/* The public header on its own, in strict C99 with every warning an error:
 *   cc -std=c99 -pedantic -Werror -Wall -Wextra header-check.c \
 *      $(pkg-config --cflags --libs libshmx)
 * No feature-test macro here on purpose: <shmx.h> must bring what it uses. */
#include <shmx.h>
#include <shmx.h> /* the include guard holds */

#if !SHMX_VERSION_AT_LEAST(0, 1, 0) || SHMX_VERSION_AT_LEAST(99, 0, 0)
#error "SHMX_VERSION_AT_LEAST is wrong"
#endif

int main(void)
{
	int (*create)(const char *, size_t, unsigned, mode_t,
		      struct shmx_region **) = shmx_create;
	unsigned flags = SHMX_RDONLY | SHMX_MAP | SHMX_POPULATE | SHMX_LAZY |
			 SHMX_UNLINK_ON_CLOSE | SHMX_PAIR_WRITER | SHMX_CHAN_CONSUMER;
	struct shmx_region *r = NULL;
	struct shmx_info info = { 0 };
	struct shmx_chan_info ci = { 0 };

	/* NULL-safe accessors and destructor: no object, no shared memory. */
	r = shmx_close(r);
	if (r || shmx_size(r) != 0 || shmx_addr(r) || !shmx_strerror(0))
		return 1;
	/* Calls that sizeof does not evaluate: the prototypes are checked,
	 * nothing is linked. */
	if (sizeof(shmx_chan_recv((struct shmx_chan *)0, 0, 0, 0)) != sizeof(ssize_t) ||
	    sizeof(shmx_pair_wait((struct shmx_pair *)0, -1)) != sizeof(int))
		return 1;
	if (!create || !flags || info.size || ci.abi ||
	    info.atime.tv_sec || SHMX_NAME_MAX != 255)
		return 1;
	return shmx_version()[0] == '0' ? 0 : 1;
}
