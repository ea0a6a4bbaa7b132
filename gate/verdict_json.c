/*
 * verdict_json.c - the one JSON encoder of a verdict (verdict_json.h): gate
 * check's results, SARIF properties, audit events and the exec daemon's
 * log all take their fields from here, and the facts of each signer from
 * signer.h, so that no two outputs can word the same verdict differently.
 */
#include "verdict.h"

#include "policy.h"
#include "signer.h"

static json_t *requirements_json(const struct gate_eval *ev)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ev->nreqs && i < GATE_MAX_REQS; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "requirement", gate_json_text(ev->reqs[i].what));
		json_object_set_new(r, "held", json_boolean(ev->reqs[i].held));
		json_object_set_new(r, "detail", gate_json_text(ev->reqs[i].detail));
		json_array_append_new(a, r);
	}
	return a;
}

static json_t *evidence_json(const struct gate_verdict *v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < v->nevidence; i++) {
		const struct gate_evidence_result *e = &v->evidence[i];
		json_t *r = json_object();
		json_object_set_new(r, "source", gate_json_text(e->source));
		json_object_set_new(r, "verified", json_boolean(e->verified));
		if (e->verified && e->facts) {
			gate_facts_put_json(r, "signer", e->facts, GATE_FACTS_SIGNER);
			json_object_set_new(r, "in_policy", json_boolean(e->in_policy));
		} else {
			json_object_set_new(r, "rule", gate_json_text(e->error.rule));
			json_object_set_new(r, "field", gate_json_text(e->error.field));
			json_object_set_new(r, "message", gate_json_text(e->error.msg));
		}
		json_array_append_new(a, r);
	}
	return a;
}

static json_t *signers_json(const struct gate_verdict *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < v->nevidence; i++)
		if (v->evidence[i].verified && v->evidence[i].facts)
			json_array_append_new(a, gate_facts_signer_json(v->evidence[i].facts));
	return a;
}

void gate_verdict_put_json(json_t *o, const struct gate_verdict *v, unsigned what)
{
	json_object_set_new(o, "verdict", json_string(gate_verdict_name(v->kind)));
	json_object_set_new(o, "allowed", json_boolean(v->allowed));
	if (what & GATE_VJ_MODE)
		json_object_set_new(o, "mode", json_string(gate_mode_name(v->mode)));
	json_object_set_new(o, "rule", v->rule ? gate_json_text(v->rule) : json_null());
	json_object_set_new(o, "reason", gate_json_text(v->reason));
	if (v->mime)
		json_object_set_new(o, "mime", gate_json_text(v->mime));
	if (what & GATE_VJ_SIGNERS)
		json_object_set_new(o, "signers", signers_json(v));
	if (what & GATE_VJ_DETAIL)
		gate_verdict_put_detail_json(o, v);
}

void gate_verdict_put_detail_json(json_t *o, const struct gate_verdict *v)
{
	if (v->digest[0])
		json_object_set_new(o, "sha256", json_string(v->digest));
	json_object_set_new(o, "size", json_integer((json_int_t)v->size));
	json_object_set_new(o, "requirements", requirements_json(&v->eval));
	json_object_set_new(o, "evidence", evidence_json(v));
}

json_t *gate_verdict_event_json(const char *type, const struct gate_verdict *v)
{
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string(type));
	json_object_set_new(o, "time", json_integer(v->time));
	json_object_set_new(o, "path", gate_json_text(v->path));
	json_object_set_new(o, "sha256", json_string(v->digest));
	json_object_set_new(o, "caller", json_string(gate_caller_name(v->caller)));
	return o;
}

char *gate_verdict_to_json(const struct gate_verdict *v)
{
	json_t *o = json_object();
	char *s = NULL;
	if (o) {
		json_object_set_new(o, "path", gate_json_text(v->path));
		gate_verdict_put_json(o, v, GATE_VJ_MODE | GATE_VJ_SIGNERS | GATE_VJ_DETAIL);
		s = json_dumps(o, JSON_COMPACT);
	}
	json_decref(o);
	return s;
}
