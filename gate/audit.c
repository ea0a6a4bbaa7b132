/* audit.c - audit events as JSON lines, to a file, stderr or syslog. One
 * write() per event so concurrent writers never interleave lines. */
#include "gate_int.h"

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
			return gate_fail(err, GATE_E_IO, NULL, "audit.log", "cannot open %s: %s", sink,
					 strerror(e));
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

static json_t *signer_json(const struct gate_facts *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(f->kind == GATE_SIGNER_KEY    ? "key"
						   : f->kind == GATE_SIGNER_X509 ? "x509"
						   : f->kind == GATE_SIGNER_APT	 ? "apt_archive"
										 : "keyless"));
	if (f->kind == GATE_SIGNER_APT && f->anchor_name) {
		json_object_set_new(o, "archive", json_string(f->anchor_name));
		json_object_set_new(o, "fingerprint", json_string(f->fingerprint));
	}
	if (f->kind == GATE_SIGNER_X509 && f->subject) {
		json_object_set_new(o, "subject", json_string(f->subject));
		json_object_set_new(o, "fingerprint", json_string(f->fingerprint));
	}
	if (f->identity)
		json_object_set_new(o, "identity", json_string(f->identity));
	if (f->issuer)
		json_object_set_new(o, "issuer", json_string(f->issuer));
	json_object_set_new(o, "key_id", json_string(f->key_id));
	return o;
}

static json_t *base_event(const char *type, const struct gate_verdict *v)
{
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string(type));
	json_object_set_new(o, "time", json_integer(v->time));
	json_object_set_new(o, "path", json_string(v->path));
	json_object_set_new(o, "sha256", json_string(v->digest));
	json_object_set_new(o, "caller", json_string(gate_caller_name(v->caller)));
	return o;
}

void gate_audit_decision(struct gate_audit *a, const struct gate_verdict *v)
{
	if (!a)
		return;
	json_t *o = base_event("decision", v);
	json_object_set_new(o, "verdict", json_string(gate_verdict_name(v->kind)));
	json_object_set_new(o, "allowed", json_boolean(v->allowed));
	json_object_set_new(o, "mode", json_string(gate_mode_name(v->mode)));
	json_object_set_new(o, "rule", v->rule ? json_string(v->rule) : json_null());
	json_object_set_new(o, "reason", json_string(v->reason));
	if (v->mime)
		json_object_set_new(o, "mime", json_string(v->mime));
	json_t *signers = json_array();
	for (size_t i = 0; i < v->nevidence; i++)
		if (v->evidence[i].verified)
			json_array_append_new(signers, signer_json(v->evidence[i].facts));
	json_object_set_new(o, "signers", signers);
	emit(a, o);
	json_decref(o);
	/* The alert monitoring needs: a valid signature by someone the policy
	 * does not know. */
	for (size_t i = 0; i < v->nevidence; i++) {
		const struct gate_evidence_result *r = &v->evidence[i];
		if (!r->verified || r->in_policy)
			continue;
		json_t *u = base_event("unexpected_signer", v);
		json_object_set_new(u, "signer", signer_json(r->facts));
		json_object_set_new(u, "evidence", json_string(r->source ? r->source : ""));
		emit(a, u);
		json_decref(u);
	}
}
