/* SPDX-License-Identifier: MIT */
/* shmx-bridge: the connection to the NATS servers (any of a list, and back
 * to any of them when one goes away) and the JetStream stream it uses. */
#define _GNU_SOURCE
#include "bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *br_nats_err(natsStatus s)
{
	const char *last = nats_GetLastError(NULL);

	return last && *last ? last : natsStatus_GetText(s);
}

static void on_reconnected(natsConnection *nc, void *arg)
{
	struct br *b = arg;

	(void)nc;
	__atomic_add_fetch(&b->n.reconnects, 1, __ATOMIC_RELAXED);
}

/* Split "a,b,c" into a NULL-terminated array (in a copy of the list). */
static int split_servers(const char *list, char **copy, const char ***urls, int *n)
{
	char *save = NULL, *tok;
	int cap = 1;

	*copy = strdup(list);
	for (const char *p = list; *p; p++)
		cap += *p == ',';
	*urls = calloc((size_t)cap, sizeof(**urls));
	if (!*copy || !*urls)
		return -1;
	*n = 0;
	for (tok = strtok_r(*copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		(*urls)[(*n)++] = tok;
	return *n ? 0 : -1;
}

static natsStatus set_options(struct br *b, natsOptions *opts, const char **urls, int n)
{
	natsStatus s;

	s = natsOptions_SetServers(opts, urls, n);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, b->o.timeout_ms);
	/* never give up: a server list is there to be gone back to */
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(opts, 100);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(opts, on_reconnected, b);
	/* out's order is the channel's: no shuffling of the list either */
	if (s == NATS_OK)
		s = natsOptions_SetNoRandomize(opts, true);
	if (s == NATS_OK && b->o.send_asap)
		s = natsOptions_SetSendAsap(opts, true);
	return s;
}

int br_connect(struct br *b)
{
	natsOptions *opts = NULL;
	const char **urls = NULL;
	char *copy = NULL;
	natsStatus s;
	int n = 0;

	if (split_servers(b->o.servers, &copy, &urls, &n) < 0) {
		fprintf(stderr, "shmx-bridge: --server '%s': no server\n", b->o.servers);
		free(copy);
		free(urls);
		return BR_USAGE;
	}
	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = set_options(b, opts, urls, n);
	if (s == NATS_OK)
		s = natsConnection_Connect(&b->nc, opts);
	if (s == NATS_OK && b->o.stream)
		s = natsConnection_JetStream(&b->js, b->nc, NULL);
	natsOptions_Destroy(opts);
	free(copy);
	free(urls);
	if (s == NATS_INVALID_ARG || s == NATS_ADDRESS_MISSING) {
		fprintf(stderr, "shmx-bridge: --server '%s': %s\n", b->o.servers,
			br_nats_err(s));
		return BR_USAGE;
	}
	if (s != NATS_OK) {
		fprintf(stderr, "shmx-bridge: cannot reach any of %s: %s\n", b->o.servers,
			br_nats_err(s));
		return BR_FAIL;
	}
	b->max_payload = natsConnection_GetMaxPayload(b->nc);
	return 0;
}

void br_disconnect(struct br *b)
{
	if (b->nc)
		natsConnection_FlushTimeout(b->nc, 2000);
	jsCtx_Destroy(b->js);
	natsConnection_Destroy(b->nc);
	b->js = NULL;
	b->nc = NULL;
}

/* The stream exists with exactly our subject among its subjects, or we
 * create it so. A stream that exists without it is an error: publishing
 * would go nowhere, and taking it over would change someone else's. */
static int check_subjects(struct br *b, jsStreamInfo *si)
{
	jsStreamConfig *c = si->Config;

	for (int i = 0; i < c->SubjectsLen; i++)
		if (!strcmp(c->Subjects[i], b->o.subject))
			return 0;
	fprintf(stderr, "shmx-bridge: stream %s exists with subject%s", b->o.stream,
		c->SubjectsLen == 1 ? "" : "s");
	for (int i = 0; i < c->SubjectsLen; i++)
		fprintf(stderr, "%s%s", i ? ", " : " ", c->Subjects[i]);
	fprintf(stderr, ", not %s\n", b->o.subject);
	return BR_FAIL;
}

static int create_stream(struct br *b, jsStreamInfo **si, jsErrCode *jerr)
{
	jsStreamConfig cfg;
	const char *subjects[] = { b->o.subject };
	natsStatus s;

	jsStreamConfig_Init(&cfg);
	cfg.Name = b->o.stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = b->o.replicas;
	cfg.Duplicates = b->o.dup_window_s * 1000000000LL;
	s = js_AddStream(si, b->js, &cfg, NULL, jerr);
	return s == NATS_OK ? 0 : -1;
}

/* The stream's info, creating the stream when it is missing. */
static natsStatus stream_info(struct br *b, jsStreamInfo **si, jsErrCode *jerr)
{
	natsStatus s;

	s = js_GetStreamInfo(si, b->js, b->o.stream, NULL, jerr);
	if (s == NATS_NOT_FOUND || *jerr == JSStreamNotFoundErr) {
		*jerr = 0;
		if (create_stream(b, si, jerr) == 0)
			return NATS_OK;
		/* another bridge may have just made it */
		s = js_GetStreamInfo(si, b->js, b->o.stream, NULL, jerr);
	}
	return s;
}

int br_stream_ensure(struct br *b)
{
	int64_t waited = 0;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	int rc;

	/* a cluster that is still electing its leaders answers nothing yet */
	while ((s = stream_info(b, &si, &jerr)) != NATS_OK && !br_stop &&
	       jerr != JSNotEnabledErr && jerr != JSNotEnabledForAccountErr &&
	       waited < b->o.timeout_ms) {
		nats_Sleep(100);
		waited += 100;
		jerr = 0;
	}
	if (s != NATS_OK) {
		fprintf(stderr, "shmx-bridge: stream %s: %s\n", b->o.stream,
			br_nats_err(s));
		return BR_FAIL;
	}
	b->stream_created = si->Created;
	rc = check_subjects(b, si);
	jsStreamInfo_Destroy(si);
	return rc;
}
