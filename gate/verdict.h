/*
 * verdict.h - the layout of a verdict (opaque in gate.h), and its one JSON
 * encoder, for the callers inside the project that write one (gate check,
 * SARIF, JUnit, audit events, the exec daemon's log, the apt hook's ledger
 * rows). Not installed.
 */
#ifndef GATE_VERDICT_H
#define GATE_VERDICT_H

#include "gate.h"
#include "policy_model.h"

#include <jansson.h>

/* One piece of evidence and what became of it. */
struct gate_evidence_result {
	char *source; /* file it came from */
	bool verified;
	struct gate_facts *facts; /* when verified */
	struct gate_error error;  /* when not */
	bool in_policy;		  /* its signer is named by some signer set */
	unsigned from;		  /* its source: GATE_SOURCE_FILES, _APT or _TUF */
};

#define GATE_MAX_EVIDENCE 32

struct gate_verdict {
	enum gate_verdict_kind kind; /* what the policy says */
	bool allowed;		     /* the answer after the mode: audit allows */
	enum gate_mode mode;
	char *rule;	/* NULL when no rule matched */
	char *path;	/* as given, "//", "." and ".." resolved (reports) */
	char *fullpath; /* absolute as well: what rules see and what is read;
			 * NULL when known only by a descriptor */
	char digest[65];
	char *mime;
	uint64_t size;
	enum gate_caller caller;
	int64_t time;
	char reason[512];      /* one line: why */
	struct gate_eval eval; /* requirement lines */
	size_t nevidence;
	struct gate_evidence_result *evidence; /* nevidence entries */
};

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
