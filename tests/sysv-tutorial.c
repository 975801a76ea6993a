/* SPDX-License-Identifier: MIT */
/*
 * The classic System V program, with no libshmx in it: ftok + shmget +
 * shmat, a parent and the child it forks, two named semaphores. The
 * interop tests check that libshmx and it exchange data both ways.
 *
 *   sysv-tutorial write PATH PROJ SEM1 SEM2 TEXT
 *       the parent writes TEXT into the segment of ftok(PATH, PROJ) (made
 *       if missing, 4096 bytes, 0644), the child checks it; the segment stays
 *   sysv-tutorial read PATH PROJ SEM1 SEM2
 *       the parent attaches, the child prints the text; then the parent
 *       destroys the segment (IPC_RMID), as the tutorials' readers do
 *
 * The semaphore waits have a deadline so that a broken test cannot hang.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHM_SIZE 4096
#define WAIT_S   10

static int fail(const char *what)
{
	fprintf(stderr, "sysv-tutorial: %s: %s\n", what, strerror(errno));
	return 1;
}

static int wait_sem(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_S;
	while (sem_timedwait(s, &ts) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static char *attach(const char *path, const char *proj, int *id)
{
	key_t key = ftok(path, atoi(proj));
	char *p;

	if (key == -1)
		return NULL;
	*id = shmget(key, SHM_SIZE, 0644 | IPC_CREAT);
	if (*id < 0)
		return NULL;
	p = shmat(*id, NULL, 0);
	return p == (void *)-1 ? NULL : p;
}

static int child_check(char *p, sem_t *written, sem_t *done, const char *text)
{
	if (wait_sem(written) < 0)
		return fail("child: sem_timedwait");
	if (strcmp(p, text) != 0) {
		fprintf(stderr, "sysv-tutorial: child read '%s'\n", p);
		return 1;
	}
	shmdt(p);
	sem_post(done);
	return 0;
}

static int do_write(char **argv)
{
	sem_t *written, *done;
	int id, st;
	pid_t pid;
	char *p;

	p = attach(argv[2], argv[3], &id);
	if (!p)
		return fail("attach");
	written = sem_open(argv[4], O_CREAT, 0644, 0);
	done = sem_open(argv[5], O_CREAT, 0644, 0);
	if (written == SEM_FAILED || done == SEM_FAILED)
		return fail("sem_open");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0)
		_exit(child_check(p, written, done, argv[6]));
	snprintf(p, SHM_SIZE, "%s", argv[6]);
	sem_post(written);
	if (wait_sem(done) < 0)
		return fail("parent: sem_timedwait");
	shmdt(p);
	sem_unlink(argv[4]);
	sem_unlink(argv[5]);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	return 0;
}

static int child_print(char *p, sem_t *ready, sem_t *done)
{
	if (wait_sem(ready) < 0)
		return fail("child: sem_timedwait");
	printf("%s", p);
	fflush(stdout);
	shmdt(p);
	sem_post(done);
	return 0;
}

static int do_read(char **argv)
{
	sem_t *ready, *done;
	int id, st;
	pid_t pid;
	char *p;

	p = attach(argv[2], argv[3], &id);
	if (!p)
		return fail("attach");
	ready = sem_open(argv[4], O_CREAT, 0644, 0);
	done = sem_open(argv[5], O_CREAT, 0644, 0);
	if (ready == SEM_FAILED || done == SEM_FAILED)
		return fail("sem_open");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0)
		_exit(child_print(p, ready, done));
	sem_post(ready);
	if (wait_sem(done) < 0)
		return fail("parent: sem_timedwait");
	shmdt(p);
	shmctl(id, IPC_RMID, NULL);
	sem_unlink(argv[4]);
	sem_unlink(argv[5]);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "write"))
		return do_write(argv);
	if (argc == 6 && !strcmp(argv[1], "read"))
		return do_read(argv);
	fprintf(stderr, "usage: sysv-tutorial write PATH PROJ SEM1 SEM2 TEXT | "
		"read PATH PROJ SEM1 SEM2\n");
	return 2;
}
