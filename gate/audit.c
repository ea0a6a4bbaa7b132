/* audit.c - audit events as JSON lines, to a file, stderr or syslog. One
 * write() per event so concurrent writers never interleave lines. */
#include "gate_int.h"
#include "signer.h"
#include "verdict.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

struct gate_audit {
	int fd; /* -1 for syslog */
	bool owned;
	pthread_mutex_t lock;
};

enum gate_err gate_audit_open(const char *sink, struct gate_audit **out, struct gate_error *err)
{
	struct gate_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	pthread_mutex_init(&a->lock, NULL);
	if (strcmp(sink, "stderr") == 0) {
		a->fd = STDERR_FILENO;
	} else if (strcmp(sink, "syslog") == 0) {
		a->fd = -1;
		openlog("gate", LOG_PID, LOG_AUTHPRIV);
	} else {
		a->fd = open(sink, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (a->fd < 0) {
			int e = errno;
			pthread_mutex_destroy(&a->lock);
			free(a);
			return gate_fail(err, GATE_E_IO, NULL, "audit.log", "cannot open %s: %s",
					 sink, strerror(e));
		}
		a->owned = true;
	}
	*out = a;
	return GATE_OK;
}

void gate_audit_close(struct gate_audit *a)
{
	if (!a)
		return;
	if (a->owned)
		close(a->fd);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static void emit(struct gate_audit *a, json_t *ev)
{
	char *line = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	if (!line)
		return;
	if (a->fd < 0) {
		syslog(LOG_NOTICE, "%s", line);
	} else {
		size_t n = strlen(line);
		line[n] = '\n'; /* replaces the NUL: write the line in one go */
		pthread_mutex_lock(&a->lock);
		/* A failed audit write never changes the decision. */
		ssize_t w = write(a->fd, line, n + 1);
		(void)w;
		pthread_mutex_unlock(&a->lock);
		line[n] = '\0';
	}
	free(line);
}

void gate_audit_decision(struct gate_audit *a, const struct gate_verdict *v)
{
	if (!a)
		return;
	json_t *o = gate_verdict_event_json("decision", v);
	gate_verdict_put_json(o, v, GATE_VJ_MODE | GATE_VJ_SIGNERS);
	emit(a, o);
	json_decref(o);
	/* The alert monitoring needs: a valid signature by someone the policy
	 * does not know. */
	for (size_t i = 0; i < v->nevidence; i++) {
		const struct gate_evidence_result *r = &v->evidence[i];
		if (!r->verified || r->in_policy)
			continue;
		json_t *u = gate_verdict_event_json("unexpected_signer", v);
		json_object_set_new(u, "signer", gate_facts_signer_json(r->facts));
		json_object_set_new(u, "evidence", json_string(r->source ? r->source : ""));
		emit(a, u);
		json_decref(u);
	}
}
