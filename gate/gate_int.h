/* gate_int.h - internals of the decision pipeline. Never installed. */
#ifndef GATE_GATE_INT_H
#define GATE_GATE_INT_H

#include "verdict.h"
#include "policy_model.h"
#include "gate_keys.h"
#include "gate_util.h"

/* GATE_EV_FAILED: a store could not be read (evidence_url.c); file names
 * the source and cert holds the reason, which gate_evidence_load returns. */
/* X.509 kinds: GATE_EV_P7S, a detached CMS signature file (one item per
 * signer, index); GATE_EV_PE / GATE_EV_JAR, signature index embedded in
 * the artifact itself (file is a label for messages, the bytes come from
 * the artifact's descriptor). */
enum gate_evidence_kind {
	GATE_EV_BUNDLE,
	GATE_EV_DETACHED,
	GATE_EV_FAILED,
	GATE_EV_P7S,
	GATE_EV_PE,
	GATE_EV_JAR,
};

struct gate_evidence_item {
	enum gate_evidence_kind kind;
	char *file;   /* bundle, or the .sig */
	char *cert;   /* detached: the .pem/.crt, or NULL for a pinned key */
	size_t index; /* X.509 kinds: which signature */
};

struct gate_evidence_list {
	struct gate_evidence_item items[GATE_MAX_EVIDENCE];
	size_t n;
	bool truncated;
};

/* Sidecars of path (none when path is NULL) and store entries for the
 * digest hex. */
enum gate_err gate_evidence_find(const struct gate_ctx *c, const char *path, const char *hex,
				 struct gate_evidence_list *l);
void gate_evidence_list_clear(struct gate_evidence_list *l);
/* URL evidence stores (evidence_url.c): whether an evidence.dirs entry is a
 * URL ("scheme://..."), and the bundle stored for digest hex at
 * URL/sha256/HEX.sigstore.json (https and file only), fetched into the
 * cache and added as a bundle item; nothing when the store has none; a
 * GATE_EV_FAILED item when it cannot be fetched. Returns GATE_OK or
 * GATE_E_NOMEM. */
bool gate_evidence_is_url(const char *dir);
enum gate_err gate_evidence_add_url(const struct gate_ctx *c, struct gate_evidence_list *l,
				    const char *url, const char *hex);
enum gate_err gate_evidence_load(const struct gate_evidence_item *it, struct gate_bundle **out,
				 struct gate_error *err);
/* Signatures embedded in the artifact open as fd (Authenticode in a PE,
 * signed JAR), sniffed by content: one item per signature; a malformed
 * file gives one item (its verification reports why). path labels them.
 * Returns GATE_OK or GATE_E_NOMEM. */
enum gate_err gate_evidence_add_embedded(struct gate_evidence_list *l, int fd, const char *path);
/* Whether an item is X.509 evidence (verified by gate_verify_codesign). */
bool gate_evidence_is_x509(const struct gate_evidence_item *it);

struct gate_ctx {
	struct gate_policy *policy;
	struct gate_audit *audit;
	char **dirs; /* policy evidence dirs + extra ones */
	size_t ndirs;
	int64_t now;
	int64_t fetch_deadline_ms; /* CLOCK_MONOTONIC; 0 = none (gate_ctx_opts) */
	long fetch_budget_s;
	char *cwd; /* the folder relative paths are in; NULL when unknown */
};

/* The verified facts gathered for one decision (borrowed from the
 * verdict's evidence results), in the order found. */
struct gate_gathered {
	struct gate_facts *ok[GATE_MAX_EVIDENCE];
	size_t nok;
};

/* Step 4 (gather.c): every evidence source rule r reads adds its results
 * to v (each verified or with its error); the verified facts go to g. v's
 * path, digest, size, time and caller are set; a is the artifact. */
void gate_gather(const struct gate_ctx *c, const struct gate_rule *r, struct gate_verdict *v,
		 const struct gate_artifact *a, struct gate_gathered *g);

/* libmagic MIME type of an open file (thread-safe: one cookie per thread).
 * Returns a malloc'd string, or NULL. */
char *gate_mime_of_fd(int fd);
/* NULL when libmagic is loaded (loading it on first call), otherwise why it
 * cannot be (static text): file types cannot be known. */
const char *gate_mime_unavailable(void);

#endif
