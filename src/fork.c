/* SPDX-License-Identifier: MIT */
/* Close-on-fork, which Linux does not have, for the descriptors whose open
 * file description holds a handle's liveness locks (shmx(7), "Liveness").
 * A child forked from a participant shares that description: the kernel
 * drops an OFD lock only when the last descriptor of its description
 * closes, so the parent's slot would stay held by the child after the
 * parent died, and its peers would wait out their deadlines instead of
 * seeing -EOWNERDEAD. A mapping of the object refers to the description
 * too. In the child, each watched descriptor is replaced (dup3() of a
 * spare one onto its number) and its mapping with private zero pages
 * (MAP_FIXED over it): the number and the range stay taken, so the
 * handle's later close closes and unmaps nothing of anyone else's. The
 * handle's sticky error says it was inherited. Never an unlock: that would drop
 * the parent's lock, which belongs to the shared description. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fork.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct shmx__forkable handles = { &handles, &handles, -1, NULL, 0, NULL };
static int spare = -1;          /* no description of any object's */
static int setup_err;

/* The registry is consistent across fork(): held by the forking thread
 * from prepare until the handler of its side lets go. */
static void before_fork(void)
{
	pthread_mutex_lock(&lock);
}

static void in_parent(void)
{
	pthread_mutex_unlock(&lock);
}

/* System calls and plain stores only (the child of a threaded parent
 * may call nothing that takes a lock). */
static void in_child(void)
{
	for (struct shmx__forkable *f = handles.next; f != &handles; f = f->next) {
		(void)dup3(spare, f->fd, O_CLOEXEC);
		if (f->addr)
			(void)mmap(f->addr, f->len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		*f->error = SHMX__FORKED;
	}
	pthread_mutex_unlock(&lock);
}

static void setup(void)
{
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (spare < 0)          /* no /dev/null (a bare chroot) */
		spare = eventfd(0, EFD_CLOEXEC);
	if (spare < 0)
		setup_err = -errno;
	else if (pthread_atfork(before_fork, in_parent, in_child))
		setup_err = -ENOMEM;
}

int shmx__fork_watch(struct shmx__forkable *f, int fd, void *addr, size_t len, int *error)
{
	pthread_once(&once, setup);
	if (setup_err)
		return setup_err;
	f->fd = fd;
	f->addr = addr;
	f->len = len;
	f->error = error;
	pthread_mutex_lock(&lock);
	f->next = handles.next;
	f->prev = &handles;
	handles.next->prev = f;
	handles.next = f;
	pthread_mutex_unlock(&lock);
	return 0;
}

void shmx__fork_unwatch(struct shmx__forkable *f)
{
	if (!f->next)
		return;
	pthread_mutex_lock(&lock);
	f->prev->next = f->next;
	f->next->prev = f->prev;
	pthread_mutex_unlock(&lock);
	f->next = f->prev = NULL;
}
