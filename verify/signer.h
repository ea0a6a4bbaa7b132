/*
 * signer.h - one table entry per signer kind, and the one encoder of
 * verified facts. Shared by every layer above verify/; never installed.
 *
 * A signer kind is: its name (the label in every machine-readable output:
 * JSON, SARIF, JUnit, audit events, the daemon's log, ledger rows), its
 * title (text for people), what makes two signers of that kind the same
 * signer (thresholds count distinct signers through it), and the fields
 * its facts add to the common ones. Adding a kind is one entry in
 * signer.c's table (docs/ARCHITECTURE.md).
 */
#ifndef GATE_VERIFY_SIGNER_H
#define GATE_VERIFY_SIGNER_H

#include "verify.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* The Fulcio extensions a keyless signer can be matched on, by their
 * name in the facts (github_workflow_repository, source_repository_ref,
 * ...), NULL-terminated: the policy's keyless keys and `gate verify`'s
 * cosign-style flags. */
extern const char *const gate_keyless_claims[];
#define GATE_MAX_CLAIMS 16

/* The value of the facts' extension name, or NULL. */
const char *gate_facts_ext(const struct gate_facts *f, const char *name);

/* Who a policy's signer entry names, worked out once when the policy
 * loads (regexes compiled, key ids computed, names resolved): the kind's
 * match compares it with verified facts. Strings are owned unless said. */
struct gate_signer_match {
	enum gate_signer_kind kind;
	/* keyless: exact value or anchored POSIX ERE, one of each pair */
	char *issuer, *issuer_regex;
	char *identity, *identity_regex;
	struct gate_regex *issuer_re, *identity_re;
	/* keyless: Fulcio extension claims (S16) the certificate must carry,
	 * each an exact value or an anchored POSIX ERE; claim names come from
	 * gate_keyless_claims (static) */
	struct gate_claim_match {
		const char *name;
		char *exact, *regex;
		struct gate_regex *re;
	} claims[GATE_MAX_CLAIMS];
	size_t nclaims;
	/* key: hex SHA-256 of the pinned key's SPKI ("" when it has none) */
	char key_id[65];
	/* x509: a root set of the trust (borrowed), and optionally the leaf's
	 * subject (RFC 2253 one line), one of its SANs and its SHA-256
	 * fingerprint (64 lowercase hex digits) */
	const struct gate_x509_trust *x509;
	char *x509_root;
	char *subject, *subject_regex;
	char *san, *san_regex;
	char *fingerprint;
	struct gate_regex *subject_re, *san_re;
	/* apt_archive: the archive's name; tuf_target: the repository's
	 * (borrowed from the policy) */
	const char *anchor;
};

/* Whether value (NULL: absent, never matches) is the claim's exact value
 * or matches its anchored pattern. */
bool gate_claim_matches(const struct gate_claim_match *c, const char *value);
/* Frees what c owns and zeroes it. */
void gate_claim_match_clear(struct gate_claim_match *c);

/* Frees what m owns and zeroes it. */
void gate_signer_match_clear(struct gate_signer_match *m);

struct gate_signer_kind_ops {
	enum gate_signer_kind kind;
	const char *name;  /* "keyless", "key", "x509", "apt_archive", "tuf_target" */
	const char *title; /* "keyless", "managed key", "x509", "apt archive", "TUF target" */
	/* Whether two facts of this kind come from the same signer. */
	bool (*same)(const struct gate_facts *a, const struct gate_facts *b);
	/* Whether verified facts of this kind are the signer m names. */
	bool (*match)(const struct gate_signer_match *m, const struct gate_facts *f);
	/* The kind's own fields: into o (JSON), or as "indent+label: value"
	 * lines (text, values escaped). */
	void (*json)(const struct gate_facts *f, json_t *o);
	void (*text)(const struct gate_facts *f, FILE *out, const char *indent);
};

/* The entry of kind k; NULL for a value no entry has. */
const struct gate_signer_kind_ops *gate_signer_kind_get(enum gate_signer_kind k);
/* The kind's name, "unknown" for a value no entry has. */
const char *gate_signer_name(enum gate_signer_kind k);
/* Same signer: same kind and the kind says so. */
bool gate_signer_same(const struct gate_facts *a, const struct gate_facts *b);
/* The policy's entry m names the signer of f: same kind and the kind's
 * match says so. */
bool gate_signer_matches(const struct gate_signer_match *m, const struct gate_facts *f);

/* Which facts the encoder writes. */
enum {
	GATE_FACTS_SIGNER = 0,	     /* who signed: kind, identity, key, the kind's fields */
	GATE_FACTS_DETAIL = 1u << 0, /* also digest, times, log entries, timestamps, extensions */
};

/* Set the facts' fields in o: the kind's name under label_key ("kind" in a
 * signer object, "signer" in an evidence or facts object), then the
 * fields. Digests, key ids and fingerprints are "sha256:HEX". */
void gate_facts_put_json(json_t *o, const char *label_key, const struct gate_facts *f,
			 unsigned what);
/* A new facts object: the label under "signer", with GATE_FACTS_DETAIL. */
json_t *gate_facts_json(const struct gate_facts *f);
/* A new error object: "code", "rule", "field", "message" and, when the
 * error names one, "file". */
json_t *gate_error_json(const struct gate_error *e);
/* A new signer object: {"kind": NAME, ...}; NULL when out of memory. */
json_t *gate_facts_signer_json(const struct gate_facts *f);
/* JSON array of the distinct signers among facts[0..n) (NULLs skipped),
 * each a signer object, in first-seen order. */
json_t *gate_facts_signers_json(const struct gate_facts *const *facts, size_t n);
/* The facts as text lines "INDENTlabel: value", starting with
 * "INDENTsigner: TITLE"; untrusted values are escaped. */
void gate_facts_put_text(FILE *out, const char *indent, const struct gate_facts *f, unsigned what);
/* A JSON string of s (NULL: ""). When s is not UTF-8 its bytes of 0x80
 * or more become the text \xNN and backslashes are doubled, so that the
 * member is never dropped (jansson refuses such strings) and the bytes can
 * be told back. */
json_t *gate_json_text(const char *s);
/* Print text from untrusted input with control and non-ASCII bytes shown
 * as \xNN and a backslash doubled, so it can never forge lines or terminal
 * escapes, and a name that spells "\x1b" is told from one holding ESC. */
void gate_put_escaped(FILE *out, const char *s);

#endif
