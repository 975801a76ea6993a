/* SPDX-License-Identifier: MIT */
/*
 * shmx: list, inspect, create, remove, garbage-collect, dump, write and
 * stream POSIX shared memory. Built on the public <shmx.h> only, as any user
 * program would be, plus what libc offers to look at /dev/shm and /proc.
 * This file dispatches; each command lives in a file of its own, ending
 * with its struct command (help text next to its code).
 *
 * Exit status: 0 success, 1 an operation failed, 2 usage error, 3 recv
 * lost part of the stream, 128+N after signal N.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "shmx-tool.h"

const struct command *cmd;

static const struct command cmd_help;

static const struct command *const commands[] = {
	&cmd_ls, &cmd_stat, &cmd_create, &cmd_rm, &cmd_gc, &cmd_cat, &cmd_write,
	&cmd_send, &cmd_recv, &cmd_help,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

int show_help(const struct command *c)
{
	printf("Usage: shmx %s\n\n%s", c->synopsis, c->help);
	return 0;
}

static int main_help(void)
{
	printf("Usage: shmx COMMAND [OPTION]... [ARG]...\n"
	       "Inspect and manage POSIX shared memory (libshmx %s).\n\nCommands:\n",
	       shmx_version());
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf("  shmx %s\n", commands[i]->synopsis);
	printf("\nNames are given with or without the leading '/'.\n"
	       "Sizes and offsets: 4096, 64K, 1M, 2G (also KiB, MiB, GiB).\n"
	       "Exit status: 0 success, 1 an operation failed, 2 usage error,\n"
	       "3 recv: the stream ended, some of it lost (overwritten), 128+N after\n"
	       "signal N (send, recv).\n"
	       "'shmx help COMMAND' or 'shmx COMMAND --help' for more; see shmx(1).\n");
	return 0;
}

static int help_run(int argc, char **argv)
{
	static const struct option longs[] = { HELP_OPT, END_OPT };
	const struct command *c;
	int o;

	opt_reset();
	while ((o = next_opt(argc, argv, ":h", longs)) != -1)
		return o == 'h' ? show_help(cmd) : EXIT_USAGE;
	if (optind >= argc)
		return main_help();
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", shown(argv[optind + 1]));
	c = find_command(argv[optind]);
	if (!c)
		return usage_error("unknown command '%s'", shown(argv[optind]));
	return show_help(c);
}

static const struct command cmd_help = {
	.name = "help",
	.run = help_run,
	.synopsis = "help [COMMAND]",
	.help = "Show the help of shmx or of one command.\n",
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "shmx: missing command\nTry 'shmx --help'.\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return main_help();
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("shmx (libshmx) %s\n", shmx_version());
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "shmx: unknown command '%s'\nTry 'shmx --help'.\n",
			shown(argv[1]));
		return EXIT_USAGE;
	}
	return cmd->run(argc - 1, argv + 1);
}
