/* test_policy.c - policy/: the strict loader (every error with its exact
 * file:line:column), durations, globs, rule selection, evaluation of
 * requirements over hand-made facts (distinct signers by maximum matching,
 * tlog, timestamp, freshness windows, regexp anchoring) and lint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"
#include "policy_model.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GH_ISS "https://token.actions.githubusercontent.com"
#define MAIL_ISS "https://accounts.example.com"
#define RELEASE_RE                                                                                 \
	"https://github\\.com/org/repo/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+"
#define RELEASE_ID "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.0.0"

/* ------------------------------------------------------------------ */
/* fixtures                                                           */

/* One scratch directory for the run: two EC public keys and a malformed
 * trusted root, so that key and trust-root loading can be exercised. */
static char scratch[64];
static char key1[128], key2[128], bad_root[128];

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int write_pubkey(const char *path)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f = fopen(path, "w");
	int ok = k && f && PEM_write_PUBKEY(f, k) == 1;
	if (f)
		ok = fclose(f) == 0 && ok;
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof scratch, "/tmp/gate-test-policy-XXXXXX");
	if (!mkdtemp(scratch))
		return -1;
	snprintf(key1, sizeof key1, "%s/k1.pem", scratch);
	snprintf(key2, sizeof key2, "%s/k2.pem", scratch);
	snprintf(bad_root, sizeof bad_root, "%s/bad_root.json", scratch);
	FILE *f = fopen(bad_root, "w");
	if (!f || fputs("{\"mediaType\": 7, \"tlogs\": \"no\"}\n", f) < 0 || fclose(f) != 0)
		return -1;
	return write_pubkey(key1) || write_pubkey(key2) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	if (!scratch[0])
		return 0;
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

/* printf into a malloc'd string (test helper; aborts the test on OOM). */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, f);
	int n = vasprintf(&s, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

static struct gate_policy *parse_ok_named(const char *name, const char *yaml)
{
	struct gate_policy *p = NULL;
	struct gate_error e = {0};
	enum gate_err rc = gate_policy_parse(name, (const uint8_t *)yaml, strlen(yaml), &p, &e);
	if (rc != GATE_OK)
		print_message("unexpected error %s:%u:%u: %s\n", e.file, e.line, e.column, e.msg);
	assert_int_equal(rc, GATE_OK);
	assert_non_null(p);
	return p;
}

static struct gate_policy *parse_ok(const char *yaml)
{
	return parse_ok_named("t.yaml", yaml);
}

/* A malformed policy fails with GATE_E_POLICY at exactly line:col, with msg
 * in the message, and sets nothing. */
static void expect_bad_len(const char *yaml, size_t len, unsigned line, unsigned col,
			   const char *msg)
{
	struct gate_policy *p = NULL;
	struct gate_error e = {0};
	enum gate_err rc = gate_policy_parse("t.yaml", (const uint8_t *)yaml, len, &p, &e);
	if (rc != GATE_E_POLICY || e.line != line || e.column != col || !strstr(e.msg, msg))
		print_message("policy:\n%.600s\n-> rc=%d at %s:%u:%u: %s\n   want %u:%u '%s'\n",
			      yaml, (int)rc, e.file, e.line, e.column, e.msg, line, col, msg);
	assert_int_equal(rc, GATE_E_POLICY);
	assert_null(p);
	assert_int_equal(e.code, GATE_E_POLICY);
	assert_string_equal(e.file, "t.yaml");
	assert_int_equal(e.line, line);
	assert_int_equal(e.column, col);
	assert_non_null(strstr(e.msg, msg));
}

static void expect_bad(const char *yaml, unsigned line, unsigned col, const char *msg)
{
	expect_bad_len(yaml, strlen(yaml), line, col, msg);
}

/* Lines 1-6 of many cases: a set of two keyless signers, then "rules:". */
#define HEAD                                                                                       \
	"version: 1\n"                                                                             \
	"signers:\n"                                                                               \
	"  team:\n"                                                                                \
	"    - keyless: {issuer: " MAIL_ISS ", identity: a@example.com}\n"                         \
	"    - keyless: {issuer: " MAIL_ISS ", identity: b@example.com}\n"                         \
	"rules:\n"

/* Line 7 onwards: a rule whose require block starts at line 9. */
#define REQ                                                                                        \
	HEAD "  - name: r\n"                                                                       \
	     "    require:\n"                                                                      \
	     "      signers: team\n"

/* ------------------------------------------------------------------ */
/* loader: the valid model                                            */

static void test_load_valid_model(void **state)
{
	(void)state;
	char *name = fmt("%s/policy.yaml", scratch);
	char *yaml = fmt("version: 1\n"
			 "mode: audit\n"
			 "trust:\n"
			 "  sigstore: public-good\n"
			 "  keys:\n"
			 "    release: {file: k1.pem}\n"
			 "    backup:\n"
			 "      file: %s\n"
			 "signers:\n"
			 "  team:\n"
			 "    - keyless: {issuer: " GH_ISS ", identity_regex: '" RELEASE_RE "'}\n"
			 "    - keyless:\n"
			 "        issuer_regex: 'https://accounts\\.example\\.(com|org)'\n"
			 "        identity: alice@example.com\n"
			 "    - key: release\n"
			 "  solo:\n"
			 "    - key: backup\n"
			 "rules:\n"
			 "  - name: binaries\n"
			 "    match:\n"
			 "      type: [application/x-executable, application/x-pie-executable]\n"
			 "      path: \"/opt/app/**\"\n"
			 "      caller: [ci, exec]\n"
			 "      size: {min: 1, max: 10MiB}\n"
			 "    require:\n"
			 "      signers: team\n"
			 "      threshold: 2\n"
			 "      tlog: required\n"
			 "      timestamp: optional\n"
			 "      max_age: 90d\n"
			 "      not_before: 2024-01-01T00:00:00Z\n"
			 "      not_after: 2030-01-01T00:00:00Z\n"
			 "  - name: debs\n"
			 "    match: {caller: apt}\n"
			 "    require: {signers: solo, timestamp: required}\n"
			 "  - name: everything else\n"
			 "    decision: deny\n"
			 "evidence: {dirs: [store, /var/lib/gate/evidence]}\n"
			 "audit: {log: audit.jsonl}\n",
			 key2);
	struct gate_policy *p = parse_ok_named(name, yaml);
	assert_string_equal(p->file, name);
	assert_int_equal(gate_policy_mode(p, GATE_CALLER_APT), GATE_MODE_AUDIT);
	assert_null(p->trusted_root_file);
	assert_non_null(p->root); /* the embedded public-good root */

	/* keys: relative to the policy's folder, loaded */
	assert_int_equal(p->nkeys, 2);
	assert_string_equal(p->keys[0].name, "release");
	assert_string_equal(p->keys[0].file, key1);
	assert_non_null(p->keys[0].key);
	assert_string_equal(p->keys[1].name, "backup");
	assert_string_equal(p->keys[1].file, key2);
	assert_non_null(p->keys[1].key);

	/* signer sets */
	assert_int_equal(p->nsets, 2);
	const struct gate_signer_set *team = &p->sets[0];
	assert_string_equal(team->name, "team");
	assert_int_equal(team->n, 3);
	assert_int_equal(team->entries[0].m.kind, GATE_SIGNER_KEYLESS);
	assert_string_equal(team->entries[0].m.issuer, GH_ISS);
	assert_null(team->entries[0].m.issuer_regex);
	assert_null(team->entries[0].m.identity);
	assert_string_equal(team->entries[0].m.identity_regex, RELEASE_RE);
	assert_int_equal(team->entries[0].line, 11);
	assert_int_equal(team->entries[0].column, 7);
	assert_null(team->entries[1].m.issuer);
	assert_string_equal(team->entries[1].m.issuer_regex,
			    "https://accounts\\.example\\.(com|org)");
	assert_string_equal(team->entries[1].m.identity, "alice@example.com");
	assert_int_equal(team->entries[2].m.kind, GATE_SIGNER_KEY);
	assert_int_equal(team->entries[2].key, 0);
	assert_string_equal(p->sets[1].name, "solo");
	assert_int_equal(p->sets[1].n, 1);
	assert_int_equal(p->sets[1].entries[0].key, 1);

	/* rules */
	assert_int_equal(p->nrules, 3);
	const struct gate_rule *r = &p->rules[0];
	assert_string_equal(r->name, "binaries");
	assert_int_equal(r->line, 19);
	assert_int_equal(r->ntypes, 2);
	assert_string_equal(r->types[0], "application/x-executable");
	assert_string_equal(r->types[1], "application/x-pie-executable");
	assert_int_equal(r->npaths, 1);
	assert_string_equal(r->paths[0], "/opt/app/**");
	assert_int_equal(r->callers, GATE_CALLER_CI | GATE_CALLER_EXEC);
	assert_true(r->has_min_size && r->has_max_size);
	assert_int_equal(r->min_size, 1);
	assert_int_equal(r->max_size, 10ull * 1024 * 1024);
	assert_int_equal(r->decision, GATE_DECISION_NONE);
	assert_true(r->has_signers);
	assert_int_equal(r->signers, 0);
	assert_int_equal(r->threshold, 2);
	assert_int_equal(r->tlog, GATE_NEED_REQUIRED);
	assert_int_equal(r->timestamp, GATE_NEED_OPTIONAL);
	assert_int_equal(r->max_age, 90 * 86400);
	assert_true(r->has_not_before && r->has_not_after);
	assert_int_equal(r->not_before, 1704067200);
	assert_int_equal(r->not_after, 1893456000);

	r = &p->rules[1];
	assert_string_equal(r->name, "debs");
	assert_int_equal(r->ntypes, 0);
	assert_int_equal(r->npaths, 0);
	assert_int_equal(r->callers, GATE_CALLER_APT);
	assert_false(r->has_min_size || r->has_max_size);
	assert_int_equal(r->signers, 1);
	assert_int_equal(r->threshold, 1); /* the default */
	assert_int_equal(r->tlog, GATE_NEED_OPTIONAL);
	assert_int_equal(r->timestamp, GATE_NEED_REQUIRED);
	assert_int_equal(r->max_age, 0);
	assert_false(r->has_not_before || r->has_not_after);

	r = &p->rules[2];
	assert_string_equal(r->name, "everything else");
	assert_false(r->has_signers);
	assert_int_equal(r->decision, GATE_DECISION_DENY);

	/* evidence dirs and the audit log file: relative to the policy too */
	assert_int_equal(p->nevidence_dirs, 2);
	char *store = fmt("%s/store", scratch), *log = fmt("%s/audit.jsonl", scratch);
	assert_string_equal(p->evidence_dirs[0], store);
	assert_string_equal(p->evidence_dirs[1], "/var/lib/gate/evidence");
	assert_string_equal(p->audit_log, log);
	free(store);
	free(log);
	gate_policy_free(p);
	free(yaml);
	free(name);
}

static void test_load_minimal_and_defaults(void **state)
{
	(void)state;
	struct gate_policy *p = parse_ok("version: 1\nrules: []\n");
	assert_int_equal(gate_policy_mode(p, GATE_CALLER_ANY), GATE_MODE_ENFORCE);
	assert_int_equal(p->nrules, 0);
	assert_null(p->audit_log);
	assert_non_null(p->root);
	gate_policy_free(p);

	/* audit.log stderr / syslog are kept as words, not made into paths */
	p = parse_ok_named("/etc/gate/p.yaml", "version: 1\nmode: off\nrules: []\n"
					       "audit: {log: syslog}\n");
	assert_int_equal(gate_policy_mode(p, GATE_CALLER_CI), GATE_MODE_OFF);
	assert_string_equal(p->audit_log, "syslog");
	gate_policy_free(p);

	/* a trusted_root file that is a real trusted root */
	char *yaml = fmt("version: 1\ntrust: {sigstore: {trusted_root: %s}}\nrules: []\n",
			 GATE_SHARED_DIR "/trust/sigstore-public-good/trusted_root.json");
	p = parse_ok(yaml);
	assert_string_equal(p->trusted_root_file,
			    GATE_SHARED_DIR "/trust/sigstore-public-good/trusted_root.json");
	assert_non_null(p->root);
	gate_policy_free(p);
	free(yaml);

	assert_int_equal(gate_policy_default(&p, NULL), GATE_OK);
	assert_int_equal(gate_policy_mode(p, GATE_CALLER_ANY), GATE_MODE_ENFORCE);
	assert_int_equal(p->nrules, 1);
	assert_int_equal(p->rules[0].decision, GATE_DECISION_DENY);
	gate_policy_free(p);
	gate_policy_free(NULL);
}

/* Load yaml and check the mode of apt, exec, ci and of no caller. */
static void expect_modes(const char *yaml, enum gate_mode apt, enum gate_mode exec,
			 enum gate_mode ci, enum gate_mode any)
{
	struct gate_policy *p = parse_ok(yaml);
	assert_int_equal(gate_policy_mode(p, GATE_CALLER_APT), apt);
	assert_int_equal(gate_policy_mode(p, GATE_CALLER_EXEC), exec);
	assert_int_equal(gate_policy_mode(p, GATE_CALLER_CI), ci);
	assert_int_equal(gate_policy_mode(p, GATE_CALLER_ANY), any);
	gate_policy_free(p);
}

/* mode: one scalar for every caller, or one mode per caller; a caller the
 * mapping leaves out is enforce; a decision for no caller takes the
 * strictest. */
static void test_load_modes_per_caller(void **state)
{
	(void)state;
	const enum gate_mode E = GATE_MODE_ENFORCE, A = GATE_MODE_AUDIT, O = GATE_MODE_OFF;
	expect_modes("version: 1\nmode: audit\nrules: []\n", A, A, A, A);
	expect_modes("version: 1\nmode: {apt: enforce, exec: audit, ci: off}\nrules: []\n", E, A,
		     O, E);
	expect_modes("version: 1\nmode:\n  exec: audit\nrules: []\n", E, A, E, E);
	expect_modes("version: 1\nmode: {apt: audit, exec: off, ci: off}\nrules: []\n", A, O, O,
		     A);
}

static void test_err_modes(void **state)
{
	(void)state;
	expect_bad("version: 1\nmode: {apt: enforce, yum: audit}\nrules: []\n", 2, 22,
		   "unknown caller 'yum' in mode: callers are apt, exec and ci");
	expect_bad("version: 1\nmode: {exec: maybe}\nrules: []\n", 2, 14,
		   "mode.exec must be enforce, audit or off, not 'maybe'");
	expect_bad("version: 1\nmode: {apt: audit, apt: enforce}\nrules: []\n", 2, 20,
		   "duplicate key 'apt' in mode");
	expect_bad("version: 1\nmode: [audit]\nrules: []\n", 2, 7, "mode");
	expect_bad("version: 1\nmode: {ci: {x: 1}}\nrules: []\n", 2, 12, "mode.ci");
	expect_bad("version: 1\nmode: sometimes\nrules: []\n", 2, 7,
		   "mode must be enforce, audit or off, not 'sometimes'");
}

static void test_load_file(void **state)
{
	(void)state;
	struct gate_policy *p = NULL;
	struct gate_error e = {0};
	char *path = fmt("%s/missing.yaml", scratch);
	assert_int_equal(gate_policy_load(path, &p, &e), GATE_E_POLICY);
	assert_null(p);
	assert_int_equal(e.code, GATE_E_POLICY);
	assert_string_equal(e.file, path);
	free(path);

	path = fmt("%s/bad.yaml", scratch);
	write_file(path, "version: 1\nrules: {}\n", 21);
	assert_int_equal(gate_policy_load(path, &p, &e), GATE_E_POLICY);
	assert_null(p);
	assert_string_equal(e.file, path);
	assert_int_equal(e.line, 2);
	assert_int_equal(e.column, 8);
	free(path);
}

/* ------------------------------------------------------------------ */
/* loader: one test per error                                          */

static void test_err_unknown_keys(void **state)
{
	(void)state;
	expect_bad("version: 1\nrules: []\nextra: 1\n", 3, 1, "unknown key 'extra' in the policy");
	expect_bad(HEAD "  - name: r\n    decision: allow\n    colour: red\n", 9, 5,
		   "unknown key 'colour' in a rule");
	expect_bad(HEAD "  - name: r\n    match:\n      colour: red\n    decision: allow\n", 9, 7,
		   "unknown key 'colour' in match");
	expect_bad(HEAD "  - name: r\n    match:\n      size: {min: 1, mid: 2}\n"
			"    decision: allow\n",
		   9, 22, "unknown key 'mid' in size");
	expect_bad(REQ "      colour: red\n", 10, 7, "unknown key 'colour' in require");
	expect_bad("version: 1\n"
		   "signers:\n"
		   "  team:\n"
		   "    - keyless:\n"
		   "        issuer: https://x.example\n"
		   "        identity: a@x.example\n"
		   "        colour: red\n"
		   "rules: []\n",
		   7, 9, "unknown key 'colour' in keyless");
	expect_bad("version: 1\n"
		   "signers:\n"
		   "  team:\n"
		   "    - certificate: {identity: a}\n"
		   "rules: []\n",
		   4, 7, "unknown key 'certificate' in a signer");
	expect_bad("version: 1\ntrust:\n  colour: red\nrules: []\n", 3, 3,
		   "unknown key 'colour' in trust");
	expect_bad("version: 1\ntrust:\n  sigstore: {trusted_root: x.json, tuf: y}\nrules: []\n", 3,
		   36, "unknown key 'tuf' in trust.sigstore");
	expect_bad("version: 1\ntrust:\n  keys:\n    k: {file: x.pem, url: y}\nrules: []\n", 4, 22,
		   "unknown key 'url' in a key");
	expect_bad("version: 1\nrules: []\nevidence: {dirs: [a], urls: [b]}\n", 3, 23,
		   "unknown key 'urls' in evidence");
	expect_bad("version: 1\nrules: []\naudit: {log: stderr, level: 3}\n", 3, 22,
		   "unknown key 'level' in audit");
}

static void test_err_types(void **state)
{
	(void)state;
	expect_bad("version: 1\nrules:\n  a: b\n", 3, 3, "rules must be a list, not a mapping");
	expect_bad("version: 1\nrules: none\n", 2, 8, "rules must be a list, not a scalar");
	expect_bad("- version: 1\n", 1, 1, "the policy must be a mapping, not a list");
	expect_bad("just words\n", 1, 1, "the policy must be a mapping, not a scalar");
	expect_bad("version: 1\nrules:\n  - just-a-rule\n", 3, 5, "a rule must be a mapping");
	expect_bad("version: [1]\nrules: []\n", 1, 10, "version must be a scalar, not a list");
	expect_bad("version: 1\nsigners: [a]\nrules: []\n", 2, 10,
		   "signers must be a mapping, not a list");
	expect_bad("version: 1\nsigners:\n  team: {a: b}\nrules: []\n", 3, 9,
		   "a signer set must be a list, not a mapping");
	expect_bad("version: 1\nsigners:\n  team: [a]\nrules: []\n", 3, 10,
		   "a signer must be a mapping, not a scalar");
	expect_bad("version: 1\nsigners:\n  team: [{keyless: a}]\nrules: []\n", 3, 20,
		   "keyless must be a mapping, not a scalar");
	expect_bad("version: 1\ntrust: public-good\nrules: []\n", 2, 8,
		   "trust must be a mapping, not a scalar");
	expect_bad("version: 1\ntrust:\n  keys: [a]\nrules: []\n", 3, 9,
		   "trust.keys must be a mapping, not a list");
	expect_bad(HEAD "  - name: [r]\n    decision: allow\n", 7, 11,
		   "name must be a scalar, not a list");
	expect_bad(HEAD "  - name: r\n    match: [a]\n    decision: allow\n", 8, 12,
		   "match must be a mapping, not a list");
	expect_bad(HEAD "  - name: r\n    match: {type: {a: b}}\n    decision: allow\n", 8, 19,
		   "type must be a list, not a mapping");
	expect_bad(HEAD "  - name: r\n    match: {path: [[a]]}\n    decision: allow\n", 8, 20,
		   "path must be a scalar, not a list");
	expect_bad(HEAD "  - name: r\n    require: team\n", 8, 14,
		   "require must be a mapping, not a scalar");
	expect_bad(REQ "      tlog: [required]\n", 10, 13, "tlog must be a scalar, not a list");
	expect_bad("version: 1\nrules: []\nevidence: {dirs: {a: b}}\n", 3, 18,
		   "evidence.dirs must be a list, not a mapping");
	expect_bad("{version: 1, [a]: 1, rules: []}\n", 1, 14,
		   "keys of the policy must be scalars");
}

static void test_err_empty_values(void **state)
{
	(void)state;
	expect_bad(HEAD "  - name: ''\n    decision: allow\n", 7, 11, "name must not be empty");
	expect_bad("version:\nrules: []\n", 1, 9, "version must not be empty");
	expect_bad(HEAD "  - name: r\n    match: {type: []}\n    decision: allow\n", 8, 19,
		   "type must not be an empty list");
	expect_bad("version: 1\nrules: []\nevidence: {dirs: []}\n", 3, 18,
		   "evidence.dirs must not be an empty list");
	expect_bad("version: 1\nsigners:\n  team: []\nrules: []\n", 3, 9,
		   "signer set 'team' is empty");
}

static void test_err_threshold(void **state)
{
	(void)state;
	expect_bad(REQ "      threshold: two\n", 10, 18,
		   "threshold must be a whole number up to 1000, not 'two'");
	expect_bad(REQ "      threshold: \"2\"\n", 10, 18,
		   "threshold must be a number, not a quoted string");
	expect_bad(REQ "      threshold: 0\n", 10, 18, "threshold must be at least 1");
	expect_bad(REQ "      threshold: -1\n", 10, 18, "whole number up to 1000, not '-1'");
	expect_bad(REQ "      threshold: 1001\n", 10, 18, "whole number up to 1000, not '1001'");
	expect_bad(REQ "      threshold: 99999999999999999999999\n", 10, 18,
		   "whole number up to 1000");
	expect_bad(REQ "      threshold: 3\n", 10, 18,
		   "threshold 3 can never be met: signer set 'team' has 2 signers");
	/* the boundary: as many as the set has */
	char *y = fmt(REQ "      threshold: 2\n");
	struct gate_policy *p = parse_ok(y);
	assert_int_equal(p->rules[0].threshold, 2);
	gate_policy_free(p);
	free(y);
}

static void test_err_enums(void **state)
{
	(void)state;
	expect_bad(REQ "      tlog: maybe\n", 10, 13,
		   "tlog must be required or optional, not 'maybe'");
	expect_bad(REQ "      timestamp: yes\n", 10, 18,
		   "timestamp must be required or optional, not 'yes'");
	expect_bad("version: 1\nmode: strict\nrules: []\n", 2, 7,
		   "mode must be enforce, audit or off, not 'strict'");
	expect_bad("version: 2\nrules: []\n", 1, 10, "unsupported policy version '2'");
	expect_bad("version: 1.0\nrules: []\n", 1, 10, "unsupported policy version '1.0'");
	expect_bad("rules: []\nmode: audit\n", 1, 1, "the policy needs version: 1");
	expect_bad("version: 1\nmode: audit\n", 1, 1, "the policy needs rules");
	expect_bad(HEAD "  - name: r\n    decision: maybe\n", 8, 15,
		   "decision must be allow or deny, not 'maybe'");
	expect_bad("version: 1\ntrust: {sigstore: staging}\nrules: []\n", 2, 19,
		   "trust.sigstore must be 'public-good' or {trusted_root: FILE}, not 'staging'");
	expect_bad("version: 1\ntrust:\n  sigstore: {}\nrules: []\n", 3, 13,
		   "trust.sigstore needs trusted_root");
}

static void test_err_rule_shape(void **state)
{
	(void)state;
	expect_bad(HEAD "  - name: r\n    decision: allow\n    require:\n      signers: team\n", 7,
		   5, "rule 'r' needs exactly one of require and decision");
	expect_bad(HEAD "  - name: r\n    match:\n      type: text/plain\n", 7, 5,
		   "rule 'r' needs exactly one of require and decision");
	expect_bad(HEAD "  - decision: allow\n", 7, 5, "a rule needs a name");
	expect_bad(HEAD "  - name: r\n    require:\n      threshold: 1\n", 9, 7,
		   "require needs signers: NAME");
	expect_bad(HEAD "  - name: r\n    decision: allow\n  - name: r\n    decision: deny\n", 9,
		   11, "duplicate rule name 'r'");
	expect_bad(REQ "  - name: s\n    require:\n      signers: nobody\n", 12, 16,
		   "unknown signer set 'nobody' (not defined under signers)");
	expect_bad("version: 1\nversion: 1\nrules: []\n", 2, 1,
		   "duplicate key 'version' in the policy");
	expect_bad(REQ "      tlog: required\n      tlog: optional\n", 11, 7,
		   "duplicate key 'tlog' in require");
	expect_bad("version: 1\nsigners:\n  a: [{key: k}]\n  a: [{key: k}]\nrules: []\n", 4, 3,
		   "duplicate key 'a' in signers");
}

static void test_err_signers(void **state)
{
	(void)state;
	/* a dangling key name */
	expect_bad("version: 1\nsigners:\n  s:\n    - key: nokey\nrules: []\n", 4, 12,
		   "unknown key 'nokey' (not defined under trust.keys)");
	/* a signer entry with both kinds, or none */
	expect_bad("version: 1\nsigners:\n  s:\n    - {key: k, keyless: {issuer: i, identity: j}}\n"
		   "rules: []\n",
		   4, 7, "a signer is exactly one of keyless: {...}, key: NAME or x509: {...}");
	expect_bad("version: 1\nsigners:\n  s:\n    - {}\nrules: []\n", 4, 7,
		   "a signer is exactly one of");
	/* identity and identity_regex together; neither; issuer twice over */
	expect_bad("version: 1\n"
		   "signers:\n"
		   "  s:\n"
		   "    - keyless:\n"
		   "        issuer: https://x.example\n"
		   "        identity: a@x.example\n"
		   "        identity_regex: '.*@x\\.example'\n"
		   "rules: []\n",
		   5, 9, "keyless needs exactly one of identity and identity_regex");
	expect_bad("version: 1\nsigners:\n  s:\n    - keyless: {issuer: https://x.example}\n"
		   "rules: []\n",
		   4, 16, "keyless needs exactly one of identity and identity_regex");
	expect_bad("version: 1\nsigners:\n  s:\n    - keyless: {issuer: a, issuer_regex: b, "
		   "identity: c}\nrules: []\n",
		   4, 16, "keyless needs exactly one of issuer and issuer_regex");
	expect_bad("version: 1\nsigners:\n  s:\n    - keyless: {identity: c}\nrules: []\n", 4, 16,
		   "keyless needs exactly one of issuer and issuer_regex");
	/* a regexp that does not compile, as identity and as issuer */
	expect_bad("version: 1\n"
		   "signers:\n"
		   "  s:\n"
		   "    - keyless:\n"
		   "        issuer: https://x.example\n"
		   "        identity_regex: '(['\n"
		   "rules: []\n",
		   6, 25, "bad regexp '(['");
	expect_bad(
		"version: 1\nsigners:\n  s:\n    - keyless: {issuer_regex: 'a{2,1}', identity: c}\n"
		"rules: []\n",
		4, 31, "bad regexp 'a{2,1}'");
}

/* A policy with one keyless member whose identity_regex is re (line 4,
 * column 60). */
static char *regex_policy(const char *re)
{
	return fmt("version: 1\nsigners:\n  s:\n    - keyless: {issuer: https://x.example, "
		   "identity_regex: '%s'}\nrules: []\n",
		   re);
}

static void test_err_regex_complexity(void **state)
{
	(void)state;
	/* Found by fuzz_policy: glibc's regcomp unrolls "x+" to "xx*" and
	 * "x{n,m}" to m copies, so stacked or nested repetitions blow up
	 * exponentially (memory) and optional copies quadratically (time); a
	 * run of stacked '*' ("h***...") takes seconds to compile. Such
	 * patterns are refused at load, where the policy names them. */
	char plus[64];
	memset(plus, '+', 50);
	plus[50] = '\0';
	char *many = fmt("a%s", plus);
	char nested[128] = "";
	for (int i = 0; i < 12; i++)
		strcat(nested, "(");
	strcat(nested, "a+");
	for (int i = 0; i < 12; i++)
		strcat(nested, ")+");
	char longre[1100];
	memset(longre, 'a', 1025);
	longre[1025] = '\0';
	const char *const bad[] = {
		many, nested, "(.*){1,9000}",
		/* issue 16: 0.6-1.3 s and 36 MB of regcomp each, under the
		 * old cost model */
		"(.*){1,499}", "(a*){1,499}", "(.*){1,100}", "(([a-z]*)+){1,50}", "a{1,999}",
		"x{30000}", "x{99999999999999999999999}", "(a{1,40}){1,40}", "(a)\\1",
		"x)++++++++++++",
		"^h******************************************************************t", "a+*",
		"a*?", "a{2}{3}", longre,
		"((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *y = regex_policy(bad[i]);
		expect_bad(y, 4, 60, "regexp is too long or too complex");
		free(y);
	}
	free(many);
	/* ordinary patterns, bracket expressions and small intervals load */
	const char *const good[] = {
		RELEASE_RE,
		"[0-9]{1,3}(\\.[0-9]{1,3}){3}",
		"[[:alpha:]]+@example\\.com",
		"[]a-]+",
		"[^]{(]{3}", /* '{' and '(' inside brackets are members */
		"a{,5}b{2,}c{3}",
		"x)+", /* an unmatched ')' is an ordinary char */
		"(a+){1,30}(b|c)*",
		"[0-9a-f]{64}",
		"a{1,300}",
		"(.*){30}",
		"^https://github\\.com/o/r/\\.github/workflows/.*@refs/heads/main$",
		"((((((((((a*)*)*)*)*)*)*)*)*)*)*",
		"(a*)?|b*"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char *y = regex_policy(good[i]);
		struct gate_policy *p = NULL;
		struct gate_error e = {0};
		enum gate_err rc =
			gate_policy_parse("t.yaml", (const uint8_t *)y, strlen(y), &p, &e);
		if (rc != GATE_OK)
			print_message("'%s': %s\n", good[i], e.msg);
		assert_int_equal(rc, GATE_OK);
		gate_policy_free(p);
		free(y);
	}
	/* odd syntax is regcomp's to judge, not the cost check's */
	char *y = regex_policy("a|+");
	struct gate_policy *p = NULL;
	struct gate_error e = {0};
	if (gate_policy_parse("t.yaml", (const uint8_t *)y, strlen(y), &p, &e) != GATE_OK)
		assert_null(strstr(e.msg, "too complex"));
	gate_policy_free(p);
	free(y);
}

static void test_err_durations_times(void **state)
{
	(void)state;
	static const char *const bad[] = {"90x", "0d", "-1d", "d", "1.5d", "90 d", "1d1h"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *y = fmt(REQ "      max_age: '%s'\n", bad[i]);
		char *m =
			fmt("max_age must be a duration like 90d, 12h, 30m, 2w; not '%s'", bad[i]);
		expect_bad(y, 10, 16, m);
		free(y);
		free(m);
	}
	expect_bad(REQ "      not_before: 2024-13-01T00:00:00Z\n", 10, 19,
		   "not_before must be an RFC 3339 UTC time like 2026-01-31T00:00:00Z, not "
		   "'2024-13-01T00:00:00Z'");
	expect_bad(REQ "      not_before: yesterday\n", 10, 19, "not_before must be an RFC 3339");
	expect_bad(REQ "      not_after: 2024-01-01\n", 10, 18, "not_after must be an RFC 3339");
}

static void test_err_match(void **state)
{
	(void)state;
	expect_bad(HEAD "  - name: r\n"
			"    match:\n"
			"      size:\n"
			"        min: 10K\n"
			"        max: 1K\n"
			"    decision: allow\n",
		   10, 9, "size.min is larger than size.max");
	expect_bad(HEAD "  - name: r\n    match:\n      size: {max: 10Q}\n    decision: allow\n", 9,
		   19, "size.max must be a size like 4096, 10K, 5MiB, 2G; not '10Q'");
	expect_bad(HEAD "  - name: r\n    match:\n      size: {min: -5}\n    decision: allow\n", 9,
		   19, "size.min must be a size like");
	expect_bad(HEAD "  - name: r\n    match:\n      size: {min: 10KB5}\n    decision: allow\n",
		   9, 19, "size.min must be a size like");
	/* 2^64 does not fit: an overflow is an error, not a silent cap */
	expect_bad(HEAD "  - name: r\n    match:\n      size: {max: 18446744073709551616}\n"
			"    decision: allow\n",
		   9, 19, "size.max must be a size like");
	expect_bad(HEAD "  - name: r\n    match:\n      size: {max: 17179869184G}\n"
			"    decision: allow\n",
		   9, 19, "size.max must be a size like");
	expect_bad(HEAD "  - name: r\n    match:\n      caller: cron\n    decision: allow\n", 9, 15,
		   "caller must be apt, exec or ci, not 'cron'");
	/* in a list the offending element is named, not the list */
	expect_bad(HEAD "  - name: r\n    match:\n      caller: [ci, cron]\n    decision: allow\n",
		   9, 20, "caller must be apt, exec or ci, not 'cron'");
}

static void test_err_yaml_features(void **state)
{
	(void)state;
	expect_bad("version: 1\nrules: &a []\n", 2, 8, "YAML anchors are not allowed in a policy");
	expect_bad("version: 1\nrules: *a\n", 2, 8, "YAML aliases are not allowed in a policy");
	expect_bad("version: !!str 1\nrules: []\n", 1, 10, "YAML tags are not allowed in a policy");
	expect_bad("version: 1\nrules: !rules []\n", 2, 8, "YAML tags are not allowed");
	expect_bad("version: 1\nrules: []\n---\nversion: 1\nrules: []\n", 3, 1,
		   "a policy is one YAML document; found another");
	/* billion laughs never gets as far as expanding anything */
	expect_bad("a: &a [x, x]\nb: [*a, *a]\n", 1, 4, "YAML anchors are not allowed");
}

static void test_err_depth(void **state)
{
	(void)state;
	/* The root mapping is level 0 and rules' list level 1, so the 17th
	 * '[' (column 8 + 16) is the first one too deep. */
	char open[32] = "", close[32] = "";
	memset(open, '[', 17);
	memset(close, ']', 17);
	char *y = fmt("version: 1\nrules: %s%s\n", open, close);
	expect_bad(y, 2, 24, "nested deeper than 16 levels");
	free(y);
	/* sixteen levels parse as YAML; then the schema objects */
	open[16] = close[16] = '\0';
	y = fmt("version: 1\nrules: %s%s\n", open, close);
	expect_bad(y, 2, 9, "a rule must be a mapping, not a list");
	free(y);
}

static void test_err_empty_and_syntax(void **state)
{
	(void)state;
	expect_bad("", 1, 1, "policy is empty");
	expect_bad("# only a comment\n\n", 1, 1, "policy is empty");
	/* a tab cannot start a token: reported where the tab is */
	expect_bad("version: 1\nrules:\n\t- a\n", 3, 1, "YAML syntax error");
	expect_bad("version: 1\nrules: [a, b\nmode: audit\n", 3, 5, "YAML syntax error");
	expect_bad("version: 1\n  mode: audit\n", 2, 7, "YAML syntax error");
	/* a NUL inside a value */
	expect_bad("version: 1\nrules:\n  - name: \"a\\0b\"\n    decision: allow\n", 3, 11,
		   "value contains a NUL character");
}

static void test_err_limits(void **state)
{
	(void)state;
	/* over the size cap: refused before parsing */
	size_t big = GATE_POLICY_MAX_SIZE + 1;
	char *y = malloc(big + 1);
	assert_non_null(y);
	memset(y, '#', big);
	y[big] = '\0';
	expect_bad_len(y, big, 1, 1, "policy is over 1048576 bytes");
	free(y);

	/* one list with more than 2048 entries: the 2049th is named */
	size_t n = 2049, len = 0;
	y = malloc(32 + n * 3);
	assert_non_null(y);
	len += (size_t)sprintf(y, "version: 1\nrules: [");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(y + len, "a, ");
	sprintf(y + len, "]\n");
	expect_bad(y, 2, 9 + 3 * 2048, "too many entries (limit 1024)");
	free(y);

	/* more than 4096 values in all: three lists of 1500 on lines 3-5;
	 * 3008 nodes precede the third list's items, so its 1089th is the
	 * 4097th value */
	y = malloc(64 + 3 * (1500 * 3 + 8));
	assert_non_null(y);
	len = (size_t)sprintf(y, "version: 1\nrules:\n");
	for (int l = 0; l < 3; l++) {
		len += (size_t)sprintf(y + len, "- [");
		for (int i = 0; i < 1500; i++)
			len += (size_t)sprintf(y + len, "a, ");
		len += (size_t)sprintf(y + len, "]\n");
	}
	expect_bad(y, 5, 4 + 3 * 1088, "policy has too many values (limit 4096)");
	free(y);
}

static void test_err_files(void **state)
{
	(void)state;
	expect_bad("version: 1\ntrust:\n  keys:\n    k1:\n      file: /nonexistent/k.pem\n"
		   "rules: []\n",
		   5, 13, "key 'k1': /nonexistent/k.pem");
	expect_bad("version: 1\ntrust:\n  keys:\n    k1: {}\nrules: []\n", 4, 9,
		   "key 'k1' needs a file");
	/* a file that is not a key */
	char *y = fmt("version: 1\ntrust:\n  keys:\n    k1: {file: %s}\nrules: []\n", bad_root);
	char *m = fmt("key 'k1': %s", bad_root);
	expect_bad(y, 4, 16, m);
	free(y);
	free(m);
	y = fmt("version: 1\ntrust:\n  sigstore:\n    trusted_root: %s\nrules: []\n", bad_root);
	m = fmt("trusted root %s", bad_root);
	expect_bad(y, 4, 19, m);
	free(y);
	free(m);
	expect_bad("version: 1\ntrust: {sigstore: {trusted_root: /nonexistent/root.json}}\n"
		   "rules: []\n",
		   2, 34, "trusted root /nonexistent/root.json");
}

/* ------------------------------------------------------------------ */
/* durations and globs                                                 */

static void test_parse_duration(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool ok;
		int64_t v;
	} t[] = {
		{"1s", true, 1},
		{"45s", true, 45},
		{"30m", true, 1800},
		{"12h", true, 43200},
		{"90d", true, 90 * 86400},
		{"2w", true, 14 * 86400},
		{"007s", true, 7},
		{"9223372036854775807s", true, INT64_MAX},
		{"106751991167300d", true, 106751991167300LL * 86400},
		{"106751991167301d", false, 0}, /* over INT64_MAX seconds */
		{"9223372036854775808s", false, 0},
		{"99999999999999999999999s", false, 0},
		{"0s", false, 0},
		{"0d", false, 0},
		{"-1d", false, 0},
		{"+1d", false, 0},
		{" 1d", false, 0},
		{"1d ", false, 0},
		{"d", false, 0},
		{"90", false, 0},
		{"90x", false, 0},
		{"90D", false, 0},
		{"1dd", false, 0},
		{"1d1h", false, 0},
		{"1.5h", false, 0},
		{"", false, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int64_t v = -1;
		bool ok = gate_parse_duration(t[i].s, &v);
		if (ok != t[i].ok || (ok && v != t[i].v))
			print_message("'%s': ok=%d v=%lld\n", t[i].s, ok, (long long)v);
		assert_int_equal(ok, t[i].ok);
		if (ok)
			assert_int_equal(v, t[i].v);
		else
			assert_int_equal(v, -1); /* *out untouched on failure */
	}
	int64_t v;
	assert_false(gate_parse_duration(NULL, &v));
}

static void test_glob_match(void **state)
{
	(void)state;
	static const struct {
		const char *pat, *path;
		bool match;
	} t[] = {
		{"/opt/app/**", "/opt/app/x", true},
		{"/opt/app/**", "/opt/app/a/b/c", true},
		{"/opt/app/**", "/opt/app", true}, /* "**" is zero or more segments */
		{"/opt/app/**", "/opt/apple/x", false},
		{"/opt/app/**", "/opt/app2/x", false},
		{"/opt/app/**", "/opt", false},
		{"/opt/app/**", "opt/app/x", false},
		{"/opt/**/bin/*", "/opt/bin/ls", true},
		{"/opt/**/bin/*", "/opt/a/b/bin/ls", true},
		{"/opt/**/bin/*", "/opt/a/b/bin/x/ls", false},
		{"*.deb", "a.deb", true},
		{"*.deb", "dir/a.deb", false},
		{"*.deb", ".deb", true},
		{"*.deb", "a.deb.sig", false},
		{"**/*.deb", "a.deb", true},
		{"**/*.deb", "x/y/a.deb", true},
		{"**/*.deb", "/x/y/a.deb", true},
		{"**/*.deb", "x/y/a.rpm", false},
		{"**", "", true},
		{"**", "/any/thing", true},
		{"/usr/bin/?s", "/usr/bin/ls", true},
		{"/usr/bin/?s", "/usr/bin/ps", true},
		{"/usr/bin/?s", "/usr/bin/s", false},
		{"/usr/bin/?s", "/usr/bin/lss", false},
		{"/usr/bin/?s", "/usr/bin//s", false}, /* '?' never matches a '/' */
		{"/usr/bin/[lp]s", "/usr/bin/ls", true},
		{"/usr/bin/[lp]s", "/usr/bin/rs", false},
		{"/usr/bin/[!l]s", "/usr/bin/ls", false},
		{"/usr/bin/[!l]s", "/usr/bin/ps", true},
		{"/usr/*/ls", "/usr/bin/ls", true},
		{"/usr/*/ls", "/usr/local/bin/ls", false}, /* '*' stays in its segment */
		{"/usr/*", "/usr/", true},
		{"/srv/a**b/x", "/srv/aXXb/x", true}, /* "**" inside a segment is '*' '*' */
		{"/srv/a**b/x", "/srv/a/b/x", false},
		{"/exact/path", "/exact/path", true},
		{"/exact/path", "/exact/path/", false},
		{"/exact/path", "/exact/pat", false},
		{"", "", true},
		{"", "/", false},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		bool m = gate_glob_match(t[i].pat, t[i].path);
		if (m != t[i].match)
			print_message("'%s' vs '%s': got %d\n", t[i].pat, t[i].path, m);
		assert_int_equal(m, t[i].match);
	}
}

/* n copies of seg joined by '/', with prefix and suffix */
static char *repeat(const char *prefix, const char *seg, size_t n, const char *suffix)
{
	size_t cap = strlen(prefix) + n * (strlen(seg) + 1) + strlen(suffix) + 1;
	char *s = malloc(cap), *p = s;
	assert_non_null(s);
	p += sprintf(p, "%s", prefix);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "/" : "", seg);
	sprintf(p, "%s", suffix);
	return s;
}

static void test_glob_pathological(void **state)
{
	(void)state;
	/* Many "**" cannot make it exponential: the matcher is a table of
	 * pattern segments x path segments. With 200 segments the pattern is
	 * over the 128-segment cap and simply never matches. */
	char *pat = repeat("", "**", 200, "/x");
	char *path = repeat("", "a", 100, "/y");
	assert_false(gate_glob_match(pat, path));
	free(pat);
	/* Under the cap the table does the work: 126 "**" then "x" against
	 * 127 segments, with and without a final "x". */
	pat = repeat("", "**", 126, "/x");
	char *yes = repeat("", "a", 126, "/x"), *no = repeat("", "a", 126, "/y");
	assert_true(gate_glob_match(pat, yes));
	assert_false(gate_glob_match(pat, no));
	free(pat);
	free(yes);
	free(no);
	free(path);
	pat = repeat("", "*a*a*a*a*a*a*a*a*a*a", 10, "");
	path = repeat("", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 10, "");
	assert_false(gate_glob_match(pat, path));
	free(pat);
	free(path);

	/* A path deeper than 128 segments matches no pattern, not even "/" "**":
	 * the segment table is fixed-size (bounded memory and time per
	 * decision), so such a path falls through every path rule to the rules
	 * after them, ending at the default deny. Fail-closed for allow rules;
	 * a policy that DENIES by path ("/tmp/" "**": deny) before a broader
	 * allow rule does not catch such a path, so deny rules should not rely
	 * on path globs alone. Exactly 128 segments still match. */
	char *deep = repeat("", "a", 128, ""); /* "a/a/.../a": 128 segments */
	assert_true(gate_glob_match("**", deep));
	assert_true(gate_glob_match("a/**", deep));
	free(deep);
	deep = repeat("/", "a", 128, ""); /* leading '/': 129 segments */
	assert_false(gate_glob_match("/**", deep));
	assert_false(gate_glob_match("**", deep));
	free(deep);
}

/* ------------------------------------------------------------------ */
/* rule selection                                                      */

static void test_select(void **state)
{
	(void)state;
	struct gate_policy *p =
		parse_ok("version: 1\n"
			 "rules:\n"
			 "  - name: first\n"
			 "    match: {type: text/plain, path: \"/a/**\"}\n"
			 "    decision: allow\n"
			 "  - name: second\n"
			 "    match: {type: text/plain}\n"
			 "    decision: deny\n"
			 "  - name: wild\n"
			 "    match: {type: \"text/*\"}\n"
			 "    decision: deny\n"
			 "  - name: apt only\n"
			 "    match: {caller: apt, type: application/x-deb}\n"
			 "    decision: allow\n"
			 "  - name: exec or ci\n"
			 "    match: {caller: [exec, ci], type: application/x-deb}\n"
			 "    decision: deny\n"
			 "  - name: sized\n"
			 "    match:\n"
			 "      type: application/octet-stream\n"
			 "      size: {min: 10, max: 1K}\n"
			 "    decision: allow\n"
			 "  - name: big\n"
			 "    match: {size: {min: 1G}}\n"
			 "    decision: deny\n");
	static const struct {
		const char *path, *mime;
		uint64_t size;
		enum gate_caller caller;
		const char *rule; /* NULL: none */
	} t[] = {
		{"/a/x", "text/plain; charset=utf-8", 5, GATE_CALLER_CI, "first"},
		{"/a/b/c", "text/plain", 5, GATE_CALLER_CI, "first"},
		{"/b/x", "text/plain; charset=us-ascii", 5, GATE_CALLER_CI, "second"},
		{NULL, "text/plain", 5, GATE_CALLER_CI, "second"}, /* a path rule needs a path */
		{"/a/x", "text/html", 5, GATE_CALLER_CI, "wild"},
		{"/a/x", "text/plainx", 5, GATE_CALLER_CI, "wild"},
		{"/a/x", "text/x-shellscript", 5, GATE_CALLER_CI, "wild"},
		{"/x.deb", "application/x-deb", 5, GATE_CALLER_APT, "apt only"},
		{"/x.deb", "application/x-deb", 5, GATE_CALLER_EXEC, "exec or ci"},
		{"/x.deb", "application/x-deb", 5, GATE_CALLER_CI, "exec or ci"},
		{"/x.deb", "application/x-deb", 5, GATE_CALLER_ANY, NULL},
		{"/x", "application/octet-stream", 9, GATE_CALLER_CI, NULL},
		{"/x", "application/octet-stream", 10, GATE_CALLER_CI, "sized"},
		{"/x", "application/octet-stream", 1024, GATE_CALLER_CI, "sized"},
		{"/x", "application/octet-stream", 1025, GATE_CALLER_CI, NULL},
		{"/x", "application/octet-stream", 1ull << 30, GATE_CALLER_CI, "big"},
		{"/x", "image/png", (1ull << 30) - 1, GATE_CALLER_CI, NULL},
		{"/x", NULL, 5, GATE_CALLER_CI, NULL}, /* a type rule needs a type */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct gate_subject s = {t[i].path, t[i].mime, t[i].size, t[i].caller};
		const struct gate_rule *r = gate_policy_select(p, &s);
		if ((r == NULL) != (t[i].rule == NULL) || (r && strcmp(r->name, t[i].rule) != 0))
			print_message("case %zu: got '%s', want '%s'\n", i, r ? r->name : "(none)",
				      t[i].rule ? t[i].rule : "(none)");
		if (!t[i].rule) {
			assert_null(r);
		} else {
			assert_non_null(r);
			assert_string_equal(r->name, t[i].rule);
		}
	}
	gate_policy_free(p);

	/* a rule with no match fits anything */
	p = parse_ok("version: 1\nrules:\n  - name: all\n    decision: allow\n");
	struct gate_subject s = {NULL, NULL, 0, GATE_CALLER_ANY};
	assert_ptr_equal(gate_policy_select(p, &s), &p->rules[0]);
	gate_policy_free(p);
}

/* ------------------------------------------------------------------ */
/* evaluation over hand-made facts                                     */

#define NOW 1750000000 /* 2025-06-15T15:06:40Z */

static struct gate_facts *keyless(const char *identity, const char *issuer, int64_t t, size_t ntlog,
				  size_t ntsa)
{
	struct gate_facts *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->kind = GATE_SIGNER_KEYLESS;
	f->identity = strdup(identity);
	f->issuer = strdup(issuer);
	assert_true(f->identity && f->issuer);
	/* every keyless signature has its own ephemeral key */
	static unsigned serial;
	snprintf(f->key_id, sizeof f->key_id, "%064x", ++serial);
	f->signing_time = t;
	f->time_source = t ? (ntsa ? GATE_TIME_TSA : GATE_TIME_TLOG) : GATE_TIME_NONE;
	f->n_tlog = ntlog;
	f->n_tsa = ntsa;
	return f;
}

static struct gate_facts *keyed(const struct gate_pubkey *k, int64_t t, size_t ntlog)
{
	struct gate_facts *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->kind = GATE_SIGNER_KEY;
	gate_pubkey_id(k, f->key_id);
	f->signing_time = t;
	f->time_source = t ? GATE_TIME_TLOG : GATE_TIME_NONE;
	f->n_tlog = ntlog;
	return f;
}

struct facts {
	struct gate_facts *v[16];
	size_t n;
};

static void add(struct facts *fs, struct gate_facts *f)
{
	assert_true(fs->n < 16);
	fs->v[fs->n++] = f;
}

static void clear(struct facts *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		gate_facts_free(fs->v[i]);
	fs->n = 0;
}

/* Evaluate the first rule; returns the decision and fills ev. */
static enum gate_decision eval_at(const struct gate_policy *p, const struct facts *fs, int64_t now,
				  struct gate_eval *ev)
{
	gate_policy_evaluate(p, &p->rules[0], fs->v, fs->n, now, ev);
	return ev->decision;
}

static enum gate_decision eval(const struct gate_policy *p, const struct facts *fs,
			       struct gate_eval *ev)
{
	return eval_at(p, fs, NOW, ev);
}

static const struct gate_req_result *req(const struct gate_eval *ev, const char *what)
{
	for (size_t i = 0; i < ev->nreqs; i++)
		if (strcmp(ev->reqs[i].what, what) == 0)
			return &ev->reqs[i];
	return NULL;
}

/* A policy with signer set "s" made of the given entries and one rule
 * requiring it with the given extra requirement lines. */
static struct gate_policy *set_policy(const char *entries, const char *require)
{
	char *y = fmt("version: 1\n"
		      "trust:\n"
		      "  keys:\n"
		      "    k1: {file: %s}\n"
		      "    k2: {file: %s}\n"
		      "signers:\n"
		      "  s:\n"
		      "%s"
		      "rules:\n"
		      "  - name: r\n"
		      "    require:\n"
		      "      signers: s\n"
		      "%s",
		      key1, key2, entries, require);
	struct gate_policy *p = parse_ok(y);
	free(y);
	return p;
}

#define KL(iss, id) "    - keyless: {issuer: " iss ", identity: " id "}\n"
#define KLRE(iss, re) "    - keyless: {issuer: " iss ", identity_regex: '" re "'}\n"

static void test_eval_fixed_decision(void **state)
{
	(void)state;
	struct gate_policy *p = parse_ok("version: 1\nrules:\n  - name: a\n    decision: allow\n"
					 "  - name: d\n    decision: deny\n");
	struct gate_eval ev;
	gate_policy_evaluate(p, &p->rules[0], NULL, 0, NOW, &ev);
	assert_int_equal(ev.decision, GATE_DECISION_ALLOW);
	assert_int_equal(ev.nreqs, 0);
	gate_policy_evaluate(p, &p->rules[1], NULL, 0, NOW, &ev);
	assert_int_equal(ev.decision, GATE_DECISION_DENY);
	gate_policy_free(p);
}

static void test_eval_threshold_distinct(void **state)
{
	(void)state;
	struct gate_policy *p =
		set_policy(KL(MAIL_ISS, "a@example.com") KL(MAIL_ISS, "b@example.com")
				   KL(MAIL_ISS, "c@example.com"),
			   "      threshold: 2\n");
	struct facts fs = {0};
	struct gate_eval ev;

	/* no evidence at all */
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 0);
	assert_false(req(&ev, "signers")->held);

	/* two distinct signers */
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 1);
	add(&fs, keyless("b@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_int_equal(ev.distinct_signers, 2);
	assert_true(req(&ev, "signers")->held);
	assert_non_null(
		strstr(req(&ev, "signers")->detail, "2 of 2 required distinct signers of 's'"));
	clear(&fs);

	/* the same identity twice counts once (two bundles, two ephemeral keys) */
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 20, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 1);
	/* ...and a signer the set does not name adds nothing */
	add(&fs, keyless("mallory@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("b@example.com", "https://evil.example", NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 1);
	assert_non_null(
		strstr(req(&ev, "signers")->detail, "4 verified signatures, 2 from the set"));
	clear(&fs);
	gate_policy_free(p);

	/* managed keys: the same key twice counts once, two keys twice */
	p = set_policy("    - key: k1\n    - key: k2\n", "      threshold: 2\n");
	add(&fs, keyed(p->keys[0].key, NOW - 10, 0));
	add(&fs, keyed(p->keys[0].key, NOW - 5, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 1);
	add(&fs, keyed(p->keys[1].key, NOW - 5, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_int_equal(ev.distinct_signers, 2);
	clear(&fs);
	/* a keyless signer whose "key id" equals a pinned key's is no key signer */
	struct gate_facts *f = keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0);
	gate_pubkey_id(p->keys[0].key, f->key_id);
	add(&fs, f);
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 0);
	clear(&fs);
	gate_policy_free(p);
}

static void test_eval_threshold_matching(void **state)
{
	(void)state;
	struct facts fs = {0};
	struct gate_eval ev;

	/* one identity that fits two members stands for one of them */
	struct gate_policy *p =
		set_policy(KL(MAIL_ISS, "a@example.com") KLRE(MAIL_ISS, "[ab]@example\\.com"),
			   "      threshold: 2\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 1);

	/* Greedy assignment would give a the first member that fits (the
	 * regexp) and leave b with nothing; the maximum matching moves a to
	 * its exact member and lets b take the regexp. Members are listed
	 * regexp first so that greedy in member order fails. */
	gate_policy_free(p);
	p = set_policy(KLRE(MAIL_ISS, "[ab]@example\\.com") KL(MAIL_ISS, "a@example.com"),
		       "      threshold: 2\n");
	add(&fs, keyless("b@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_int_equal(ev.distinct_signers, 2);
	clear(&fs);
	/* both orders of the evidence */
	add(&fs, keyless("b@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_int_equal(ev.distinct_signers, 2);
	clear(&fs);
	gate_policy_free(p);

	/* two identities that fit only one regexp member count once */
	p = set_policy(KLRE(MAIL_ISS, "[ab]@example\\.com") KL(MAIL_ISS, "c@example.com"),
		       "      threshold: 2\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("b@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 1);
	/* c fills the other member */
	add(&fs, keyless("c@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_int_equal(ev.distinct_signers, 2);
	clear(&fs);
	gate_policy_free(p);

	/* ...and twice when there are two such members */
	p = set_policy(KLRE(MAIL_ISS, "[ab]@example\\.com") KLRE(MAIL_ISS, "[ab]@example\\.com"),
		       "      threshold: 2\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("b@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_int_equal(ev.distinct_signers, 2);
	clear(&fs);
	gate_policy_free(p);

	/* A longer chain: x fits member 0, y members 0-1, z members 0-2. In
	 * the order z, y, x greedy gives z 0 and y 1 and leaves x nothing; the
	 * matching moves them along and reaches 3. */
	p = set_policy(KLRE(MAIL_ISS, "[xyz]@example\\.com") KLRE(MAIL_ISS, "[yz]@example\\.com")
			       KL(MAIL_ISS, "z@example.com"),
		       "      threshold: 3\n");
	add(&fs, keyless("z@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("y@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("x@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_int_equal(ev.distinct_signers, 3);
	clear(&fs);
	gate_policy_free(p);

	/* the same identity from two issuers is two signers when both are named */
	p = set_policy(KL(MAIL_ISS, "a@example.com") KL(GH_ISS, "a@example.com"),
		       "      threshold: 2\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("a@example.com", GH_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	clear(&fs);
	gate_policy_free(p);
}

static void test_eval_tlog_timestamp(void **state)
{
	(void)state;
	struct facts fs = {0};
	struct gate_eval ev;
	struct gate_policy *p = set_policy(KL(MAIL_ISS, "a@example.com"), "      tlog: required\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 0, 1));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 0);
	assert_false(req(&ev, "tlog")->held);
	clear(&fs);
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_true(req(&ev, "tlog")->held);
	assert_null(req(&ev, "timestamp"));
	clear(&fs);
	gate_policy_free(p);

	p = set_policy(KL(MAIL_ISS, "a@example.com"), "      timestamp: required\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_false(req(&ev, "timestamp")->held);
	clear(&fs);
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 0, 1));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_true(req(&ev, "timestamp")->held);
	clear(&fs);
	gate_policy_free(p);

	/* optional is the default: neither is needed */
	p = set_policy(KL(MAIL_ISS, "a@example.com"), "      tlog: optional\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 0, 1));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	assert_int_equal(ev.nreqs, 1);
	clear(&fs);
	gate_policy_free(p);

	/* Per item: with threshold 2, the one signer with a log entry and the
	 * other with only a timestamp do not make two. */
	p = set_policy(KL(MAIL_ISS, "a@example.com") KL(MAIL_ISS, "b@example.com"),
		       "      threshold: 2\n      tlog: required\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	add(&fs, keyless("b@example.com", MAIL_ISS, NOW - 10, 0, 1));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_int_equal(ev.distinct_signers, 1);
	assert_false(req(&ev, "signers")->held);
	clear(&fs);
	gate_policy_free(p);
}

static void test_eval_max_age(void **state)
{
	(void)state;
	struct facts fs = {0};
	struct gate_eval ev;
	struct gate_policy *p = set_policy(KL(MAIL_ISS, "a@example.com"), "      max_age: 1d\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 86400, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW); /* exactly max_age old */
	assert_true(req(&ev, "max_age")->held);
	assert_int_equal(eval_at(p, &fs, NOW + 1, &ev), GATE_DECISION_DENY); /* one second more */
	assert_false(req(&ev, "max_age")->held);
	assert_int_equal(ev.distinct_signers, 0);
	clear(&fs);
	/* no verified signing time: cannot be shown fresh */
	add(&fs, keyless("a@example.com", MAIL_ISS, 0, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_false(req(&ev, "max_age")->held);
	clear(&fs);
	/* one fresh signature among stale ones is enough for threshold 1 */
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 90 * 86400, 1, 0));
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 60, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	clear(&fs);
	gate_policy_free(p);
}

/* A signing time ahead of the clock does not make a signature fresh:
 * max_age counts only times at most GATE_POLICY_CLOCK_SKEW in the future. */
static void test_eval_max_age_future(void **state)
{
	(void)state;
	struct facts fs = {0};
	struct gate_eval ev;
	struct gate_policy *p = set_policy(KL(MAIL_ISS, "a@example.com"), "      max_age: 1d\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW + GATE_POLICY_CLOCK_SKEW, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	clear(&fs);
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW + GATE_POLICY_CLOCK_SKEW + 1, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	assert_false(req(&ev, "max_age")->held);
	clear(&fs);
	gate_policy_free(p);
}

static void test_eval_window(void **state)
{
	(void)state;
	struct facts fs = {0};
	struct gate_eval ev;
	/* 2025-01-01T00:00:00Z = 1735689600, 2025-12-31T23:59:59Z = 1767225599 */
	struct gate_policy *p = set_policy(KL(MAIL_ISS, "a@example.com"),
					   "      not_before: 2025-01-01T00:00:00Z\n"
					   "      not_after: 2025-12-31T23:59:59Z\n");
	static const struct {
		int64_t t;
		enum gate_decision d;
	} t[] = {
		{1735689600 - 1, GATE_DECISION_DENY},
		{1735689600, GATE_DECISION_ALLOW},
		{1735689600 + 1, GATE_DECISION_ALLOW},
		{1767225599, GATE_DECISION_ALLOW},
		{1767225599 + 1, GATE_DECISION_DENY},
		{0, GATE_DECISION_DENY}, /* no signing time */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		add(&fs, keyless("a@example.com", MAIL_ISS, t[i].t, 1, 0));
		if (eval(p, &fs, &ev) != t[i].d)
			print_message("signing time %lld\n", (long long)t[i].t);
		assert_int_equal(ev.decision, t[i].d);
		assert_int_equal(req(&ev, "window")->held, t[i].d == GATE_DECISION_ALLOW);
		clear(&fs);
	}
	gate_policy_free(p);

	/* only one side */
	p = set_policy(KL(MAIL_ISS, "a@example.com"), "      not_after: 2025-01-01T00:00:00Z\n");
	add(&fs, keyless("a@example.com", MAIL_ISS, 1000, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	clear(&fs);
	gate_policy_free(p);
}

static void test_eval_keyless_fields(void **state)
{
	(void)state;
	struct facts fs = {0};
	struct gate_eval ev;
	/* issuer exact + identity regexp */
	struct gate_policy *p = set_policy(KLRE(GH_ISS, RELEASE_RE), "");
	static const struct {
		const char *id, *iss;
		bool ok;
	} t[] = {
		{RELEASE_ID, GH_ISS, true},
		{"https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v2", GH_ISS,
		 true},
		/* [0-9.]+ allows any run of digits and dots, "v1..2" included:
		 * that is what the pattern says, and lint does not flag it */
		{"https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1..2",
		 GH_ISS, true},
		/* a suffix: anchoring at the end */
		{RELEASE_ID "x", GH_ISS, false},
		{RELEASE_ID "/../evil", GH_ISS, false},
		{RELEASE_ID "\n", GH_ISS, false},
		{"https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v", GH_ISS,
		 false},
		{"https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main",
		 GH_ISS, false},
		/* a prefix: anchoring at the start */
		{"https://evil.example/" RELEASE_ID, GH_ISS, false},
		{"xhttps://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1", GH_ISS,
		 false},
		/* host tricks: escaped dots only match dots */
		{"https://github.com.evil.example/org/repo/.github/workflows/release.yml@refs/tags/v1",
		 GH_ISS, false},
		{"https://githubXcom/org/repo/.github/workflows/release.yml@refs/tags/v1", GH_ISS,
		 false},
		{"https://github.com/org/repo/.github/workflows/releaseXyml@refs/tags/v1", GH_ISS,
		 false},
		{"https://github.com/org/repo2/.github/workflows/release.yml@refs/tags/v1", GH_ISS,
		 false},
		/* the issuer is compared exactly */
		{RELEASE_ID, GH_ISS "/", false},
		{RELEASE_ID, "https://token.actions.githubusercontent.com.evil.example", false},
		{RELEASE_ID, "http://token.actions.githubusercontent.com", false},
		{RELEASE_ID, "HTTPS://token.actions.githubusercontent.com", false},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		add(&fs, keyless(t[i].id, t[i].iss, NOW - 10, 1, 0));
		bool allowed = eval(p, &fs, &ev) == GATE_DECISION_ALLOW;
		if (allowed != t[i].ok)
			print_message("'%s' from '%s': allowed=%d\n", t[i].id, t[i].iss, allowed);
		assert_int_equal(allowed, t[i].ok);
		assert_int_equal(gate_signer_matches(&p->sets[0].entries[0].m, fs.v[0]), t[i].ok);
		clear(&fs);
	}
	gate_policy_free(p);

	/* exact identity, exact issuer: a trailing slash is another issuer */
	p = set_policy(KL(MAIL_ISS "/", "a@example.com"), "");
	add(&fs, keyless("a@example.com", MAIL_ISS, NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	clear(&fs);
	add(&fs, keyless("a@example.com", MAIL_ISS "/", NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	clear(&fs);
	add(&fs, keyless("A@example.com", MAIL_ISS "/", NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	clear(&fs);
	gate_policy_free(p);

	/* A pattern cannot close the anchoring group early: "x)|(.*" in a
	 * policy must not accept every identity: either the loader refuses
	 * the pattern or it matches nothing here. */
	static const char escape[] =
		"version: 1\n"
		"signers:\n"
		"  s:\n"
		"    - keyless: {issuer: " MAIL_ISS ", identity_regex: 'x)|(.*'}\n"
		"rules:\n"
		"  - name: r\n"
		"    require: {signers: s}\n";
	struct gate_error e = {0};
	p = NULL;
	if (gate_policy_parse("t.yaml", (const uint8_t *)escape, strlen(escape), &p, &e) ==
	    GATE_OK) {
		add(&fs, keyless("mallory@evil.example", MAIL_ISS, NOW - 10, 1, 0));
		if (eval(p, &fs, &ev) == GATE_DECISION_ALLOW)
			print_message("BUG: identity_regex 'x)|(.*' accepts any identity "
				      "(gate_regex_full_match wraps the pattern in ^(...)$)\n");
		assert_int_equal(ev.decision, GATE_DECISION_DENY);
		clear(&fs);
		gate_policy_free(p);
	} else {
		assert_null(p);
		assert_int_equal(e.code, GATE_E_POLICY);
		assert_int_equal(e.line, 4);
	}

	/* issuer_regex: anchored too */
	p = set_policy("    - keyless: {issuer_regex: 'https://accounts\\.example\\.(com|org)', "
		       "identity: a@example.com}\n",
		       "");
	add(&fs, keyless("a@example.com", "https://accounts.example.org", NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_ALLOW);
	clear(&fs);
	add(&fs, keyless("a@example.com", "https://accounts.example.org.evil", NOW - 10, 1, 0));
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	clear(&fs);
	/* a fact without an identity never matches */
	struct gate_facts *f = keyless("a@example.com", "https://accounts.example.com", NOW, 1, 0);
	free(f->identity);
	f->identity = NULL;
	add(&fs, f);
	assert_int_equal(eval(p, &fs, &ev), GATE_DECISION_DENY);
	clear(&fs);
	gate_policy_free(p);
}

/* ------------------------------------------------------------------ */
/* lint                                                                */

struct lint_seen {
	size_t n;
	char all[4096];
	unsigned line, column;
};

static void lint_cb(void *ctx, const char *file, unsigned line, unsigned column, const char *msg)
{
	struct lint_seen *s = ctx;
	assert_string_equal(file, "t.yaml");
	s->n++;
	s->line = line;
	s->column = column;
	size_t l = strlen(s->all);
	snprintf(s->all + l, sizeof s->all - l, "%s\n", msg);
}

static size_t lint(const char *entry, struct lint_seen *s)
{
	char *y = fmt("version: 1\nsigners:\n  s:\n%srules: []\n", entry);
	struct gate_policy *p = parse_ok(y);
	memset(s, 0, sizeof(*s));
	size_t n = gate_policy_lint(p, lint_cb, s);
	assert_int_equal(n, s->n);
	gate_policy_free(p);
	free(y);
	return n;
}

static void test_lint(void **state)
{
	(void)state;
	struct lint_seen s;
	/* tight: no warning */
	assert_int_equal(lint(KLRE(GH_ISS, "^" RELEASE_RE "$"), &s), 0);
	assert_int_equal(lint(KLRE(GH_ISS, RELEASE_RE), &s), 0);
	assert_int_equal(lint(KL(GH_ISS, RELEASE_ID), &s), 0);
	assert_int_equal(
		lint(KL(MAIL_ISS, "a@example.com") "  t:\n" KL(MAIL_ISS, "b@example.com"), &s), 0);

	/* ".*" anywhere */
	assert_true(lint(KLRE(MAIL_ISS, ".*@example\\.com"), &s) >= 1);
	assert_non_null(strstr(s.all, "unbounded '.*' or '.+'"));
	assert_int_equal(s.line, 4);
	assert_int_equal(s.column, 7);
	/* a GitHub identity without a workflow file */
	assert_int_equal(lint(KLRE(GH_ISS, "https://github\\.com/org/repo/[^@]+@refs/tags/v1"), &s),
			 1);
	assert_non_null(strstr(s.all, "does not name a workflow file"));
	/* any ref */
	lint(KLRE(GH_ISS, "https://github\\.com/org/repo/\\.github/workflows/release\\.yml@.*"),
	     &s);
	assert_non_null(strstr(s.all, "accepts any ref after '@'"));
	assert_int_equal(lint(KLRE(GH_ISS, "https://github\\.com/org/repo/\\.github/workflows/"
					   "release\\.yml"),
			      &s),
			 1);
	assert_non_null(strstr(s.all, "does not pin a ref"));
	/* an unescaped dot in the host */
	assert_int_equal(lint(KLRE(GH_ISS, "https://github.com/org/repo/\\.github/workflows/"
					   "release\\.yml@refs/tags/v[0-9.]+"),
			      &s),
			 1);
	assert_non_null(strstr(s.all, "unescaped '.' in the host name"));
	/* issuer patterns */
	assert_true(lint("    - keyless: {issuer_regex: 'https://.*', identity: a@b.example}\n",
			 &s) >= 1);
	assert_non_null(strstr(s.all, "issuer_regex 'https://.*' contains an unbounded run"));
	assert_int_equal(lint("    - keyless: {issuer_regex: 'https://accounts.example.com', "
			      "identity: a@b.example}\n",
			      &s),
			 1);
	assert_non_null(strstr(s.all, "issuer_regex 'https://accounts.example.com' has an "
				      "unescaped '.'"));

	/* mode off is worth a warning */
	struct gate_policy *p = parse_ok("version: 1\nmode: off\nrules: []\n");
	memset(&s, 0, sizeof s);
	assert_int_equal(gate_policy_lint(p, lint_cb, &s), 1);
	assert_non_null(strstr(s.all, "mode is off"));
	gate_policy_free(p);
}

static size_t lint_rules(const char *rules, struct lint_seen *s)
{
	char *y = fmt("version: 1\nrules:\n%s", rules);
	struct gate_policy *p = parse_ok(y);
	memset(s, 0, sizeof(*s));
	size_t n = gate_policy_lint(p, lint_cb, s);
	gate_policy_free(p);
	free(y);
	return n;
}

/* Issue 16: rules after a rule that matches everything they match, and
 * MIME types libmagic never reports. */
static void test_lint_rules(void **state)
{
	(void)state;
	struct lint_seen s;
	/* after a rule with no match */
	assert_int_equal(lint_rules("  - {name: any, decision: deny}\n"
				    "  - {name: bins, match: {type: [application/x-executable]}, "
				    "decision: allow}\n",
				    &s),
			 1);
	assert_non_null(strstr(s.all, "rule 'bins' is never reached: rule 'any' (line 3)"));
	assert_int_equal(s.line, 4);
	/* identical matches */
	assert_int_equal(lint_rules("  - {name: a, match: {path: ['/opt/**']}, decision: deny}\n"
				    "  - {name: b, match: {path: ['/opt/**'], caller: [ci]}, decision: allow}\n",
				    &s),
			 1);
	assert_non_null(strstr(s.all, "rule 'b' is never reached: rule 'a'"));
	/* a wildcard type covers a literal one; sizes and callers narrow */
	assert_int_equal(lint_rules("  - {name: t, match: {type: ['text/*']}, decision: deny}\n"
				    "  - {name: sh, match: {type: [text/x-shellscript], caller: "
				    "[ci]}, decision: allow}\n",
				    &s),
			 1);
	/* not covered: no warning */
	assert_int_equal(lint_rules("  - {name: a, match: {path: ['/opt/**'], caller: [ci]}, "
				    "decision: deny}\n"
				    "  - {name: b, match: {path: ['/opt/**'], caller: [ci, apt]}, "
				    "decision: allow}\n"
				    "  - {name: c, match: {type: [text/plain], size: {max: 10}}, "
				    "decision: allow}\n"
				    "  - {name: d, match: {type: [text/plain]}, decision: allow}\n",
				    &s),
			 0);
	/* MIME types */
	assert_int_equal(lint_rules("  - {name: m, match: {type: [aplication/x-executable, text, "
				    "'text/x y', 'image/*', 'inode/x-empty']}, decision: deny}\n",
				    &s),
			 3);
	assert_non_null(strstr(s.all, "type 'aplication/x-executable' is not a MIME type"));
	assert_non_null(strstr(s.all, "type 'text' is not a MIME type"));
	assert_non_null(strstr(s.all, "type 'text/x y' is not a MIME type"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_valid_model),
		cmocka_unit_test(test_load_minimal_and_defaults),
		cmocka_unit_test(test_load_modes_per_caller),
		cmocka_unit_test(test_err_modes),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_err_unknown_keys),
		cmocka_unit_test(test_err_types),
		cmocka_unit_test(test_err_empty_values),
		cmocka_unit_test(test_err_threshold),
		cmocka_unit_test(test_err_enums),
		cmocka_unit_test(test_err_rule_shape),
		cmocka_unit_test(test_err_signers),
		cmocka_unit_test(test_err_regex_complexity),
		cmocka_unit_test(test_err_durations_times),
		cmocka_unit_test(test_err_match),
		cmocka_unit_test(test_err_yaml_features),
		cmocka_unit_test(test_err_depth),
		cmocka_unit_test(test_err_empty_and_syntax),
		cmocka_unit_test(test_err_limits),
		cmocka_unit_test(test_err_files),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_glob_match),
		cmocka_unit_test(test_glob_pathological),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_eval_fixed_decision),
		cmocka_unit_test(test_eval_threshold_distinct),
		cmocka_unit_test(test_eval_threshold_matching),
		cmocka_unit_test(test_eval_tlog_timestamp),
		cmocka_unit_test(test_eval_max_age),
		cmocka_unit_test(test_eval_max_age_future),
		cmocka_unit_test(test_eval_window),
		cmocka_unit_test(test_eval_keyless_fields),
		cmocka_unit_test(test_lint),
		cmocka_unit_test(test_lint_rules),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
