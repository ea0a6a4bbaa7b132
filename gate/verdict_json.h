/*
 * verdict_json.h - the one JSON encoder of a verdict, for every output
 * that writes one (gate check, SARIF, audit events, the exec daemon's log).
 * Not installed.
 */
#ifndef GATE_VERDICT_JSON_H
#define GATE_VERDICT_JSON_H

#include "gate.h"

#include <jansson.h>

enum {
	GATE_VJ_MODE = 1u << 0,	   /* "mode" */
	GATE_VJ_SIGNERS = 1u << 1, /* "signers": each verified signer (signer.h) */
	GATE_VJ_DETAIL = 1u << 2,  /* "sha256", "size", "requirements", "evidence" */
};

/* A new audit event {"event": type, "time", "path", "sha256", "caller"}. */
json_t *gate_verdict_event_json(const char *type, const struct gate_verdict *v);
/* Set in o: "verdict", "allowed", "rule", "reason", "mime" (when known),
 * and what asks for. */
void gate_verdict_put_json(json_t *o, const struct gate_verdict *v, unsigned what);
/* Only the GATE_VJ_DETAIL members. */
void gate_verdict_put_detail_json(json_t *o, const struct gate_verdict *v);

#endif
