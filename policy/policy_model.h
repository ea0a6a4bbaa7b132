/*
 * policy_model.h - the in-memory model of a loaded policy: what the policy
 * loader builds and the decision pipeline, the CLI and the hooks read.
 * Internal to gate (never installed): outside callers see struct
 * gate_policy and struct gate_rule as opaque handles (policy.h).
 */
#ifndef GATE_POLICY_MODEL_H
#define GATE_POLICY_MODEL_H

#include "policy.h"
#include "signer.h"

/* One member of a signer set: who it names (signer.h, matched through the
 * kind's entry), and where it was written. */
struct gate_signer_entry {
	struct gate_signer_match m;
	size_t key; /* key: index into policy->keys */
	size_t apt; /* apt_archive: index into policy->apts */
	unsigned line, column;
};

struct gate_signer_set {
	char *name;
	struct gate_signer_entry *entries;
	size_t n;
};

struct gate_policy_key {
	char *name;
	char *file;
	struct gate_pubkey *key;
};

/* trust.tuf.NAME: a TUF repository whose targets allow artifacts
 * (policy_tuf.h). */
struct gate_policy_tuf {
	char *name;
	char *url;	 /* metadata URL */
	char *root_file; /* the initial root.json */
	uint8_t *root;	 /* its bytes (verified by itself at load, T1) */
	size_t root_len;
	char *cache_dir;       /* NULL when there is no cache base directory */
	int64_t max_staleness; /* seconds since the last successful update */
	bool refresh;	       /* may update over the network in a decision */
	unsigned line, column;
};

/* trust.apt_archives.NAME: an apt archive whose signed InRelease files
 * vouch for .debs (gate/debian/apt_origin.h). */
struct gate_policy_apt {
	char *name;
	char *keyring;			  /* OpenPGP keyring for gpgv */
	char *lists;			  /* NULL = /var/lib/apt/lists */
	char *origin, *suite, *component; /* NULL = any */
	unsigned line, column;
};

/* A sorted list of SHA-256 digests (policy digests.allow / digests.deny). */
struct gate_digest_list {
	uint8_t (*v)[32];
	size_t n, cap;
};

struct gate_rule {
	char *name;
	unsigned line;
	/* match: an empty list matches anything */
	char **types;
	size_t ntypes;
	char **paths; /* globs; "**" crosses directories */
	size_t npaths;
	unsigned callers; /* bit set of enum gate_caller; 0 = any */
	bool has_min_size, has_max_size;
	uint64_t min_size, max_size;
	/* either a fixed decision... */
	enum gate_decision decision;
	/* ...or requirements over the evidence */
	bool has_signers;
	size_t signers; /* index into policy->sets */
	unsigned threshold;
	enum gate_need tlog, timestamp;
	int64_t max_age; /* seconds; 0 = none */
	bool has_not_before, has_not_after;
	int64_t not_before, not_after;
	/* tuf_target: the artifact must be a target of policy->tufs[tuf];
	 * tuf_path (a glob, or NULL) limits the target path */
	bool has_tuf;
	size_t tuf;
	char *tuf_path;
	/* attestation: only DSSE in-toto attestations of predicate_type whose
	 * predicate meets every condition (names of gate_facts.predicate)
	 * count toward signers; without it only signatures count, never an
	 * attestation */
	bool has_attestation;
	char *predicate_type;
	struct gate_claim_match pred_conds[GATE_MAX_FACT_PREDICATE];
	size_t npred_conds;
	/* coverage: partial lets a signed JAR's unsigned entries pass; by
	 * default (full) a signature counts only if it covers every entry */
	bool partial_coverage;
	/* where its evidence comes from (GATE_SOURCE_*), worked out at load */
	unsigned sources;
};

/* Evidence sources (gate/gather.c): signature files (sidecars, the
 * evidence stores, signatures embedded in the artifact: keyless, key,
 * x509), the policy's apt archives (apt_archive) and its TUF repositories
 * (tuf_target). */
enum {
	GATE_SOURCE_FILES = 1u << 0,
	GATE_SOURCE_APT = 1u << 1,
	GATE_SOURCE_TUF = 1u << 2,
};

/* The callers a policy gives a mode each (`mode: {apt: ..., exec: ...,
 * ci: ...}`), in the order of gate_policy::modes. */
#define GATE_POLICY_NCALLERS 3

struct gate_policy {
	char *file;
	/* by caller: apt, exec, ci (a scalar `mode:` sets all three; a
	 * caller the mapping leaves out is enforce); read through
	 * gate_policy_mode() */
	enum gate_mode modes[GATE_POLICY_NCALLERS];
	char *trusted_root_file; /* NULL = embedded public-good root */
	struct gate_trusted_root *root;
	struct gate_policy_key *keys;
	size_t nkeys;
	struct gate_signer_set *sets;
	size_t nsets;
	struct gate_rule *rules;
	size_t nrules;
	char **evidence_dirs;
	size_t nevidence_dirs;
	char *audit_log;	      /* NULL, "stderr", "syslog" or a file path */
	struct gate_policy_tuf *tufs; /* trust.tuf */
	size_t ntufs;
	/* trust.x509_roots, trust.tsa_roots, trust.crl: classic code signing;
	 * NULL when the policy names no X.509 roots */
	struct gate_x509_trust *x509;
	struct gate_policy_apt *apts; /* trust.apt_archives */
	size_t napts;
	bool uses_types; /* some rule matches on the file type (libmagic) */
	/* digests: decided by SHA-256 before any rule; deny beats allow */
	struct gate_digest_list deny_digests, allow_digests;
	/* trust.require_fresh: Sigstore evidence verified with stale trust
	 * (gate_facts.trust_expired: the embedded root after its TUF root
	 * expired) does not count */
	bool require_fresh_trust;
};

/* Whether sha256 is on list l (sorted at load). */
bool gate_digest_listed(const struct gate_digest_list *l, const uint8_t sha256[32]);

/* Outcome of evaluating one requirement. */
struct gate_req_result {
	const char *what; /* "signers", "tlog", "timestamp", "max_age", ... */
	bool held;
	char detail[256];
};

#define GATE_MAX_REQS 10

struct gate_eval {
	enum gate_decision decision;
	unsigned distinct_signers; /* signers of the set that verified */
	size_t nreqs;
	struct gate_req_result reqs[GATE_MAX_REQS];
};

/* Evaluate rule r over the facts of every evidence item that verified
 * (nfacts may be 0). now is unix seconds. Fills ev; ev->decision is ALLOW
 * only if every requirement held. */
void gate_policy_evaluate(const struct gate_policy *p, const struct gate_rule *r,
			  struct gate_facts *const *facts, size_t nfacts, int64_t now,
			  struct gate_eval *ev);

/* Whether some signer set of p names the signer of f (for a tuf_target
 * listing: some rule requires its repository). */
bool gate_policy_names_signer(const struct gate_policy *p, const struct gate_facts *f);

/* The mode of caller c: its own entry of `mode:`; for GATE_CALLER_ANY (a
 * decision no caller asked for) the strictest of the three. */
enum gate_mode gate_policy_mode(const struct gate_policy *p, enum gate_caller c);

#endif
