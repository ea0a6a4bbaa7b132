/* test_verify.c - gate_verify_bundle end to end: every conformance case at
 * the library level with the exact code and rule of chosen rejections, the
 * facts of the happy paths, identity expectations, one-byte-changed
 * fixtures derived from happy-path-v0.3, and S4/S14/S17/S18 paths that the
 * conformance data does not reach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"
#include "conformance_fixture.h"

#include <dirent.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* helpers                                                            */

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* First line of a small file, without its newline; malloc'd. */
static char *first_line(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char buf[1024];
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	char *s = strdup(buf);
	assert_non_null(s);
	return s;
}

/* Flip one bit of byte `at` (negative: from the end) of the base64 string
 * member key of obj. */
static void flip_b64_member(json_t *obj, const char *key, long at)
{
	size_t n = 0;
	uint8_t *raw = unb64(json_string_value(json_object_get(obj, key)), &n);
	size_t i = at >= 0 ? (size_t)at : n - (size_t)(-at);
	assert_true(i < n);
	raw[i] ^= 0x01;
	char *s = b64(raw, n);
	assert_int_equal(json_object_set_new(obj, key, json_string(s)), 0);
	free(s);
	free(raw);
}

/* Everything one verification needs. */
struct run {
	const char *root_path; /* NULL: public-good */
	const char *key_path;  /* managed-key mode */
	const char *identity, *identity_re, *issuer, *issuer_re;
	const char *artifact; /* path or sha256:HEX; NULL: a.txt */
	bool ignore_tlog;
	int64_t now; /* 0: the current time */
};

/* Run the whole pipeline as `gate verify` does; a failure at any stage is
 * returned with its error. */
static enum gate_err run_doc(const struct run *r, const uint8_t *doc, size_t len,
			     const char *bundle_path, struct gate_facts **facts,
			     struct gate_error *err)
{
	struct gate_trusted_root *root = NULL;
	struct gate_pubkey *key = NULL;
	struct gate_bundle *b = NULL;
	struct gate_artifact *a = NULL;
	const char *art = r->artifact ? r->artifact : CONF "a.txt";
	enum gate_err rc;
	*facts = NULL;
	if ((rc = gate_trusted_root_load(r->root_path ? r->root_path : PUBLIC_GOOD, &root, err)) !=
	    GATE_OK)
		goto out;
	if (r->key_path && (rc = gate_pubkey_load(r->key_path, &key, err)) != GATE_OK)
		goto out;
	rc = bundle_path ? gate_bundle_load(bundle_path, &b, err)
			 : gate_bundle_parse(doc, len, &b, err);
	if (rc != GATE_OK)
		goto out;
	rc = strncmp(art, "sha256:", 7) == 0 ? gate_artifact_from_digest(art, &a, err)
					     : gate_artifact_open(art, &a, err);
	if (rc != GATE_OK)
		goto out;
	struct gate_verify_opts o = {
		.root = root,
		.key = key,
		.identity = r->identity,
		.identity_regex = r->identity_re,
		.issuer = r->issuer,
		.issuer_regex = r->issuer_re,
		.require_tlog = !r->ignore_tlog,
		.now = r->now,
	};
	rc = gate_verify_bundle(b, a, &o, facts, err);
out:
	gate_artifact_free(a);
	gate_bundle_free(b);
	gate_pubkey_free(key);
	gate_trusted_root_free(root);
	return rc;
}

/* The conformance protocol for one case directory. */
static enum gate_err run_case(const char *name, struct gate_facts **facts, struct gate_error *err)
{
	char dir[512], root[600], key[600], art[600], idf[600], issf[600], bundle[600];
	snprintf(dir, sizeof dir, CONF "%s", name);
	snprintf(root, sizeof root, "%s/trusted_root.json", dir);
	snprintf(key, sizeof key, "%s/key.pub", dir);
	snprintf(art, sizeof art, "%s/artifact", dir);
	snprintf(idf, sizeof idf, "%s/identity", dir);
	snprintf(issf, sizeof issf, "%s/issuer", dir);
	snprintf(bundle, sizeof bundle, "%s/bundle.sigstore.json", dir);
	char *id = NULL, *iss = NULL;
	struct run r = {0};
	r.root_path = exists(root) ? root : NULL;
	r.artifact = exists(art) ? art : NULL;
	if (exists(key)) {
		r.key_path = key;
	} else {
		r.identity = exists(idf) ? (id = first_line(idf)) : DEFAULT_IDENTITY;
		r.issuer = exists(issf) ? (iss = first_line(issf)) : DEFAULT_ISSUER;
	}
	enum gate_err rc = run_doc(&r, NULL, 0, bundle, facts, err);
	free(id);
	free(iss);
	return rc;
}

/* Serialise j (consumed) and verify it as happy-path-v0.3 is verified. */
static enum gate_err run_json(const struct run *r, json_t *j, struct gate_facts **facts,
			      struct gate_error *err)
{
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	json_decref(j);
	enum gate_err rc = run_doc(r, (const uint8_t *)s, strlen(s), NULL, facts, err);
	free(s);
	return rc;
}

static const struct run keyless_default = {
	.identity = DEFAULT_IDENTITY,
	.issuer = DEFAULT_ISSUER,
};

/* ------------------------------------------------------------------ */
/* every conformance case                                             */

struct case_expect {
	const char *name;
	enum gate_err code;
	const char *rule;
};

/* The first rule that fails in the order of spec §3 (S1 → S19). Where the
 * case's README targets a later rule, the comment says why an earlier one
 * fires first. */
static const struct case_expect expectations[] = {
	/* The bundle's messageDigest differs from the logged hash, which S6
	 * compares before S17 reads the artifact. */
	{"message-digest-mismatch_fail", GATE_E_MISMATCH, "S6"},
	/* The log body records the original signature: S6 before S17/S18. */
	{"signature-mismatch_fail", GATE_E_MISMATCH, "S6"},
	{"dsse-invalid-sig_fail", GATE_E_MISMATCH, "S6"},
	{"bundle-from-wrong-instance_fail", GATE_E_TLOG, "S5"},
	/* The checkpoint is validly signed but for another tree: S8 binds it
	 * to treeSize/rootHash before S9 walks the proof. */
	{"checkpoint-wrong-roothash_fail", GATE_E_CHECKPOINT, "S8"},
	/* The checkpoint matches treeSize/rootHash; the path does not. */
	{"inclusion-proof-corrupted-hash_fail", GATE_E_INCLUSION, "S9"},
	{"invalid-checkpoint-signature_fail", GATE_E_CHECKPOINT, "S8"},
	{"checkpoint-bad-keyhint_fail", GATE_E_CHECKPOINT, "S8"},
	{"set-invalid-signature_fail", GATE_E_TLOG, "S7"},
	{"integrated-time-in-future_fail", GATE_E_TLOG, "S11"},
	{"intoto-set-outside-signing-cert-validity_fail", GATE_E_TLOG, "S11"},
	{"rekor2-no-timestamp_fail", GATE_E_NO_TIME, "S13"},
	{"wrong-hashedrekord-entry_fail", GATE_E_MISMATCH, "S6"},
	{"wrong-hashedrekord-artifact_fail", GATE_E_MISMATCH, "S6"},
	{"incorrect-public-key_fail", GATE_E_MISMATCH, "S6"},
	{"dsse-mismatch-envelope_fail", GATE_E_MISMATCH, "S6"},
	{"rekor2-dsse-mismatch-envelope_fail", GATE_E_MISMATCH, "S6"},
	{"managed-key-no-key_fail", GATE_E_CERT, "S4"},
	{"invalid-ct-key_fail", GATE_E_SCT, "S15"},
	{"intoto-tsa-timestamp-outside-cert-validity_fail", GATE_E_CERT, "S14"},
	{"rekor2-timestamp-payload-mismatch_fail", GATE_E_TIMESTAMP, "S12"},
	{"rekor2-timestamp-outside-trust-root-tsa-validity_fail", GATE_E_TIMESTAMP, "S12"},
	{"rekor2-checkpoint-missing-root-hash_fail", GATE_E_CHECKPOINT, "S8"},
	{"bundle-malformed-json_fail", GATE_E_PARSE, "S1"},
	{"bundle-unknown-version_fail", GATE_E_UNSUPPORTED, "S1"},
	{"bundle-negative-log-index_fail", GATE_E_PARSE, "S3"},
	{"intoto-missing-inclusion-proof_fail", GATE_E_TLOG, "S3"},
	{"rekor2-no-inclusion-proof_fail", GATE_E_TLOG, "S3"},
	/* A key.pub that is not a key at all (base64 "wrongkey"). */
	{"managed-key-wrong-key_fail", GATE_E_PARSE, "S19"},
};

static const struct case_expect *expectation(const char *name)
{
	for (size_t i = 0; i < sizeof expectations / sizeof expectations[0]; i++)
		if (strcmp(expectations[i].name, name) == 0)
			return &expectations[i];
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void test_conformance_cases(void **state)
{
	(void)state;
	DIR *d = opendir(CONF);
	assert_non_null(d);
	struct dirent *de;
	size_t ncases = 0, nchecked = 0, mismatches = 0;
	while ((de = readdir(d)) != NULL) {
		char bundle[512];
		snprintf(bundle, sizeof bundle, CONF "%s/bundle.sigstore.json", de->d_name);
		if (de->d_name[0] == '.' || !exists(bundle))
			continue;
		ncases++;
		struct gate_error err = {0};
		struct gate_facts *f = NULL;
		enum gate_err rc = run_case(de->d_name, &f, &err);
		bool want_pass = !ends_with(de->d_name, "_fail");
		if ((rc == GATE_OK) != want_pass) {
			print_message("MISMATCH %s: rc=%d %s %s: %s\n", de->d_name, (int)rc,
				      err.rule, err.field, err.msg);
			mismatches++;
		}
		if (rc == GATE_OK) {
			assert_non_null(f);
			/* every verified bundle has a digest and a key id */
			assert_int_equal(strlen(f->digest), 64);
			assert_int_equal(strlen(f->key_id), 64);
		} else {
			assert_null(f);
			assert_int_equal(err.code, rc);
			assert_true(err.msg[0] != '\0');
		}
		const struct case_expect *x = expectation(de->d_name);
		if (x) {
			expect_fail(rc, &err, x->code, x->rule, de->d_name);
			nchecked++;
		}
		gate_facts_free(f);
	}
	closedir(d);
	assert_int_equal(mismatches, 0);
	assert_int_equal(ncases, 70);
	assert_int_equal(nchecked, sizeof expectations / sizeof expectations[0]);
}

/* ------------------------------------------------------------------ */
/* facts                                                              */

static void sha256_hex_of_file(const char *path, char hex[65])
{
	struct gate_error err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	uint8_t d[32];
	assert_int_equal(gate_read_file(path, 1 << 20, &buf, &len, &err), GATE_OK);
	unsigned int dl = 0;
	assert_int_equal(EVP_Digest(buf, len, d, &dl, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	free(buf);
}

static void spki_hex(EVP_PKEY *k, char hex[65])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	assert_true(n > 0);
	uint8_t d[32];
	unsigned int dl = 0;
	assert_int_equal(EVP_Digest(der, (size_t)n, d, &dl, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	OPENSSL_free(der);
}

static void test_facts_happy_v03(void **state)
{
	(void)state;
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	assert_int_equal(run_case("happy-path-v0.3", &f, &err), GATE_OK);
	assert_int_equal(f->kind, GATE_SIGNER_KEYLESS);
	assert_string_equal(f->identity, DEFAULT_IDENTITY);
	assert_string_equal(f->issuer, DEFAULT_ISSUER);
	assert_int_equal(f->signing_time, 1710869186);
	assert_int_equal(f->time_source, GATE_TIME_TLOG);
	assert_int_equal(f->n_tlog, 1);
	assert_int_equal(f->log_index[0], 79571823);
	assert_int_equal(f->integrated_time[0], 1710869186);
	assert_int_equal(f->n_tsa, 0);
	assert_null(f->payload_type);
	char hex[65];
	sha256_hex_of_file(CONF "a.txt", hex);
	assert_string_equal(f->digest, hex);
	/* key id = SHA-256 of the leaf's SPKI */
	json_t *j = case_json("happy-path-v0.3");
	X509 *leaf = der_cert(json_string_value(
		json_object_get(json_object_get(vm(j), "certificate"), "rawBytes")));
	spki_hex(X509_get0_pubkey(leaf), hex);
	assert_string_equal(f->key_id, hex);
	X509_free(leaf);
	json_decref(j);
	gate_facts_free(f);
}

static void test_facts_rekor2(void **state)
{
	(void)state;
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	assert_int_equal(run_case("rekor2-happy-path", &f, &err), GATE_OK);
	assert_int_equal(f->kind, GATE_SIGNER_KEYLESS);
	assert_int_equal(f->time_source, GATE_TIME_TSA);
	assert_int_equal(f->n_tlog, 1);
	assert_int_equal(f->integrated_time[0], 0); /* Rekor v2: none */
	assert_true(f->n_tsa >= 1);
	assert_int_equal(f->signing_time, f->tsa_time[0]);
	assert_true(f->signing_time > 1700000000);
	gate_facts_free(f);

	assert_int_equal(run_case("happy-path-intoto-in-dsse-v3", &f, &err), GATE_OK);
	assert_string_equal(f->payload_type, "application/vnd.in-toto+json");
	assert_non_null(f->predicate_type);
	gate_facts_free(f);
}

static void test_facts_managed_key(void **state)
{
	(void)state;
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	assert_int_equal(run_case("managed-key-happy-path", &f, &err), GATE_OK);
	assert_int_equal(f->kind, GATE_SIGNER_KEY);
	assert_null(f->identity);
	assert_null(f->issuer);
	assert_int_equal(f->n_tlog, 1);
	FILE *kf = fopen(CONF "managed-key-happy-path/key.pub", "r");
	assert_non_null(kf);
	EVP_PKEY *k = PEM_read_PUBKEY(kf, NULL, NULL, NULL);
	fclose(kf);
	assert_non_null(k);
	char hex[65];
	spki_hex(k, hex);
	assert_string_equal(f->key_id, hex);
	EVP_PKEY_free(k);
	gate_facts_free(f);
}

/* ------------------------------------------------------------------ */
/* identity expectations (S16)                                        */

static enum gate_err run_v03(const struct run *r, struct gate_facts **f, struct gate_error *err)
{
	return run_doc(r, NULL, 0, CONF "happy-path-v0.3/bundle.sigstore.json", f, err);
}

static void id_case(const char *id, const char *id_re, const char *iss, const char *iss_re,
		    enum gate_err want, const char *what)
{
	struct run r = {.identity = id, .identity_re = id_re, .issuer = iss, .issuer_re = iss_re};
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	enum gate_err rc = run_v03(&r, &f, &err);
	if (want == GATE_OK) {
		if (rc != GATE_OK)
			print_message("%s: %s\n", what, err.msg);
		assert_int_equal(rc, GATE_OK);
		gate_facts_free(f);
		return;
	}
	if (want == GATE_E_IDENTITY) {
		expect_fail(rc, &err, GATE_E_IDENTITY, "S16", what);
	} else {
		assert_int_equal(rc, want);
	}
	assert_null(f);
}

static void test_identity(void **state)
{
	(void)state;
	id_case(DEFAULT_IDENTITY, NULL, DEFAULT_ISSUER, NULL, GATE_OK, "exact");
	id_case("https://github.com/sigstore-conformance/other/.github/workflows/x.yml@refs/heads/main",
		NULL, DEFAULT_ISSUER, NULL, GATE_E_IDENTITY, "wrong identity");
	id_case(DEFAULT_IDENTITY "x", NULL, DEFAULT_ISSUER, NULL, GATE_E_IDENTITY,
		"identity with a suffix");
	id_case(DEFAULT_IDENTITY, NULL, "https://accounts.google.com", NULL, GATE_E_IDENTITY,
		"wrong issuer");
	id_case(DEFAULT_IDENTITY, NULL, DEFAULT_ISSUER "/", NULL, GATE_E_IDENTITY,
		"issuer with a slash");
	/* regexps are anchored */
	id_case(NULL, "https://github.com/sigstore-conformance/", NULL, DEFAULT_ISSUER,
		GATE_E_IDENTITY, "identity regexp that is only a prefix");
	id_case(NULL,
		"https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon",
		NULL, DEFAULT_ISSUER, GATE_E_IDENTITY, "repository prefix");
	id_case(NULL, "https://github\\.com/sigstore-conformance/.*@refs/heads/main",
		DEFAULT_ISSUER, NULL, GATE_OK, "full identity regexp");
	id_case(NULL, "https://github\\.com/sigstore-conformance/.*@refs/heads/release",
		DEFAULT_ISSUER, NULL, GATE_E_IDENTITY, "identity regexp, other ref");
	id_case(DEFAULT_IDENTITY, NULL, NULL, "https://token\\.actions\\.githubusercontent\\.com",
		GATE_OK, "issuer regexp");
	id_case(DEFAULT_IDENTITY, NULL, NULL, "https://token", GATE_E_IDENTITY,
		"issuer regexp prefix");
	id_case(DEFAULT_IDENTITY, NULL, NULL, "https://.*\\.google\\.com", GATE_E_IDENTITY,
		"issuer regexp other");
	id_case(NULL, "(", DEFAULT_ISSUER, NULL, GATE_E_USAGE, "bad identity regexp");
}

/* S11: the log may not claim to have seen the entry in our future (more
 * than the allowed skew); verifying "as of" the signing time works. */
static void test_verification_time(void **state)
{
	(void)state;
	const int64_t t = 1710869186; /* happy-path-v0.3 integratedTime */
	struct run r = keyless_default;
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	r.now = t;
	assert_int_equal(run_v03(&r, &f, &err), GATE_OK);
	gate_facts_free(f);
	f = NULL;
	r.now = t - 300; /* inside the skew */
	assert_int_equal(run_v03(&r, &f, &err), GATE_OK);
	gate_facts_free(f);
	f = NULL;
	r.now = t - 3600;
	expect_fail(run_v03(&r, &f, &err), &err, GATE_E_TLOG, "S11",
		    "integratedTime in the future");
	assert_null(f);
}

/* ------------------------------------------------------------------ */
/* one byte changed: every verification path of happy-path-v0.3       */

static void must_reject(json_t *j, enum gate_err code, const char *rule, const char *what)
{
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	enum gate_err rc = run_json(&keyless_default, j, &f, &err);
	if (rc == GATE_OK)
		print_message("%s: ACCEPTED\n", what);
	assert_int_not_equal(rc, GATE_OK);
	assert_null(f);
	expect_fail(rc, &err, code, rule, what);
}

static void test_one_byte_control(void **state)
{
	(void)state;
	/* the re-serialised, unmodified bundle verifies: mutations below are
	 * what makes them fail */
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	assert_int_equal(run_json(&keyless_default, case_json("happy-path-v0.3"), &f, &err),
			 GATE_OK);
	gate_facts_free(f);
}

static void test_one_byte_artifact(void **state)
{
	(void)state;
	char hex[65], spec[80];
	sha256_hex_of_file(CONF "a.txt", hex);
	struct run r = keyless_default;
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	snprintf(spec, sizeof spec, "sha256:%s", hex);
	r.artifact = spec;
	assert_int_equal(run_v03(&r, &f, &err), GATE_OK); /* digest-only control */
	gate_facts_free(f);
	f = NULL;
	for (size_t pos = 0; pos < 64; pos += 21) {
		snprintf(spec, sizeof spec, "sha256:%s", hex);
		spec[7 + pos] = spec[7 + pos] == '0' ? '1' : '0';
		memset(&err, 0, sizeof err);
		expect_fail(run_v03(&r, &f, &err), &err, GATE_E_MISMATCH, "S6", "artifact digest");
		assert_null(f);
	}
}

static void test_one_byte_signature(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	flip_b64_member(json_object_get(j, "messageSignature"), "signature", 10);
	must_reject(j, GATE_E_MISMATCH, "S6", "signature");
	j = case_json("happy-path-v0.3");
	flip_b64_member(json_object_get(json_object_get(j, "messageSignature"), "messageDigest"),
			"digest", 0);
	must_reject(j, GATE_E_MISMATCH, "S6", "messageDigest");
}

static void test_one_byte_set(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	flip_b64_member(json_object_get(entry0(j), "inclusionPromise"), "signedEntryTimestamp", -1);
	must_reject(j, GATE_E_TLOG, "S7", "SET last byte");
	j = case_json("happy-path-v0.3");
	flip_b64_member(json_object_get(entry0(j), "inclusionPromise"), "signedEntryTimestamp", 10);
	must_reject(j, GATE_E_TLOG, "S7", "SET r value");
	/* what the SET covers */
	j = case_json("happy-path-v0.3");
	json_object_set_new(entry0(j), "integratedTime", json_string("1710869187"));
	must_reject(j, GATE_E_TLOG, "S7", "integratedTime + 1");
	j = case_json("happy-path-v0.3");
	json_object_set_new(entry0(j), "logIndex", json_string("79571824"));
	must_reject(j, GATE_E_TLOG, "S7", "logIndex + 1");
}

/* Flip one bit in the signature bytes of the checkpoint's signature line. */
static void test_one_byte_checkpoint(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	json_t *cp = json_object_get(proof0(j), "checkpoint");
	const char *env = json_string_value(json_object_get(cp, "envelope"));
	const char *dash = strstr(env, "\xe2\x80\x94 rekor.sigstore.dev ");
	assert_non_null(dash);
	const char *sig = dash + strlen("\xe2\x80\x94 rekor.sigstore.dev ");
	size_t siglen = strcspn(sig, "\n");
	char *sig64 = strndup(sig, siglen);
	size_t n = 0;
	uint8_t *raw = unb64(sig64, &n);
	assert_true(n > 10);
	raw[n - 1] ^= 0x01; /* inside the ECDSA signature, past the 4-byte key id */
	char *nsig = b64(raw, n);
	assert_int_equal(strlen(nsig), siglen);
	char *nenv = strdup(env);
	memcpy(nenv + (sig - env), nsig, siglen);
	json_object_set_new(cp, "envelope", json_string(nenv));
	must_reject(j, GATE_E_CHECKPOINT, "S8", "checkpoint signature");
	free(nenv);
	free(nsig);
	free(raw);
	free(sig64);

	/* the root hash the checkpoint is bound to */
	j = case_json("happy-path-v0.3");
	flip_b64_member(proof0(j), "rootHash", 5);
	must_reject(j, GATE_E_CHECKPOINT, "S8", "rootHash");
	j = case_json("happy-path-v0.3");
	json_object_set_new(proof0(j), "treeSize", json_string("75408394"));
	must_reject(j, GATE_E_CHECKPOINT, "S8", "treeSize + 1");
}

static void test_one_byte_proof(void **state)
{
	(void)state;
	for (size_t i = 0; i < 11; i += 5) {
		json_t *j = case_json("happy-path-v0.3");
		json_t *hashes = json_object_get(proof0(j), "hashes");
		size_t n = 0;
		uint8_t *raw = unb64(json_string_value(json_array_get(hashes, i)), &n);
		assert_int_equal(n, 32);
		raw[31] ^= 0x80;
		char *s = b64(raw, n);
		json_array_set_new(hashes, i, json_string(s));
		free(s);
		free(raw);
		must_reject(j, GATE_E_INCLUSION, "S9", "proof hash");
	}
	json_t *j = case_json("happy-path-v0.3");
	json_object_set_new(proof0(j), "logIndex", json_string("75408391"));
	must_reject(j, GATE_E_INCLUSION, "S9", "proof logIndex - 1");
}

static void test_one_byte_certificate(void **state)
{
	(void)state;
	/* the last byte of the DER is inside the issuer's signature */
	json_t *j = case_json("happy-path-v0.3");
	flip_b64_member(json_object_get(vm(j), "certificate"), "rawBytes", -1);
	/* the log body names the original certificate: S6 rejects first */
	must_reject(j, GATE_E_MISMATCH, "S6", "leaf signature area");
}

static void test_one_byte_body(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	size_t n = 0;
	uint8_t *body =
		unb64(json_string_value(json_object_get(entry0(j), "canonicalizedBody")), &n);
	char *v = strstr((char *)body, "\"value\":\"");
	assert_non_null(v);
	v += strlen("\"value\":\"");
	*v = *v == 'a' ? 'b' : 'a'; /* first hex digit of data.hash.value */
	char *s = b64(body, n);
	json_object_set_new(entry0(j), "canonicalizedBody", json_string(s));
	free(s);
	free(body);
	must_reject(j, GATE_E_MISMATCH, "S6", "body hash value");
}

/* ------------------------------------------------------------------ */
/* paths the conformance data does not reach                          */

/* rekor2-timestamp-with-incorrect-time_fail is rejected at S1 because its
 * token was base64 line-wrapped; unwrapped, it must reach S14. */
static void test_tsa_time_outside_leaf_validity(void **state)
{
	(void)state;
	json_t *j = case_json("rekor2-timestamp-with-incorrect-time_fail");
	json_t *t =
		json_array_get(json_object_get(json_object_get(vm(j), "timestampVerificationData"),
					       "rfc3161Timestamps"),
			       0);
	const char *s = json_string_value(json_object_get(t, "signedTimestamp"));
	assert_non_null(strchr(s, '\n'));
	char *clean = strdup(s), *w = clean;
	for (const char *p = s; *p; p++)
		if (*p != '\n')
			*w++ = *p;
	*w = '\0';
	json_object_set_new(t, "signedTimestamp", json_string(clean));
	free(clean);
	struct run r = keyless_default;
	r.root_path = CONF "rekor2-timestamp-with-incorrect-time_fail/trusted_root.json";
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	expect_fail(run_json(&r, j, &f, &err), &err, GATE_E_CERT, "S14",
		    "TSA time outside the leaf validity");
	assert_null(f);
}

static json_t *cert_obj(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	assert_true(n > 0);
	char *s = b64(der, (size_t)n);
	json_t *o = json_pack("{s:s}", "rawBytes", s);
	free(s);
	OPENSSL_free(der);
	return o;
}

/* S4: a self-signed certificate in the bundle's chain is rejected even
 * though the same root is trusted. */
static void test_bundle_chain_with_root(void **state)
{
	(void)state;
	json_t *root = load_json(PUBLIC_GOOD);
	json_t *cas = json_object_get(
		json_object_get(json_array_get(json_object_get(root, "certificateAuthorities"), 1),
				"certChain"),
		"certificates");
	X509 *inter =
		der_cert(json_string_value(json_object_get(json_array_get(cas, 0), "rawBytes")));
	X509 *anchor =
		der_cert(json_string_value(json_object_get(json_array_get(cas, 1), "rawBytes")));
	json_decref(root);

	for (int with_root = 0; with_root < 2; with_root++) {
		json_t *j = case_json("happy-path-v0.3");
		json_t *leaf = json_object_get(vm(j), "certificate");
		json_t *certs = json_array();
		json_array_append(certs, leaf);
		json_array_append_new(certs, cert_obj(inter));
		if (with_root)
			json_array_append_new(certs, cert_obj(anchor));
		json_object_set_new(vm(j), "x509CertificateChain",
				    json_pack("{s:o}", "certificates", certs));
		json_object_del(vm(j), "certificate");
		struct gate_error err = {0};
		struct gate_facts *f = NULL;
		enum gate_err rc = run_json(&keyless_default, j, &f, &err);
		if (with_root) {
			expect_fail(rc, &err, GATE_E_CERT, "S4", "bundle chain holding the root");
		} else {
			if (rc != GATE_OK)
				print_message("leaf+intermediate: %s\n", err.msg);
			assert_int_equal(rc, GATE_OK);
		}
		gate_facts_free(f);
	}
	X509_free(inter);
	X509_free(anchor);
}

/* ---- S17/S18 with a key made here, no log (--insecure-ignore-tlog) ---- */

/* One scratch directory under /tmp for the run, removed by the group
 * teardown (which runs even when a test fails). */
static char scratch[64];

static int group_setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof scratch, "/tmp/gate-test-verify-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
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

struct keyfix {
	EVP_PKEY *pkey;
	char spki_path[128]; /* PEM public key in the scratch dir */
};

static void keyfix_init(struct keyfix *k)
{
	static unsigned serial;
	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k->pkey);
	snprintf(k->spki_path, sizeof k->spki_path, "%s/pub%u.pem", scratch, serial++);
	FILE *f = fopen(k->spki_path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k->pkey), 1);
	assert_int_equal(fclose(f), 0);
}

static void keyfix_free(struct keyfix *k)
{
	unlink(k->spki_path);
	EVP_PKEY_free(k->pkey);
}

static char *sign_b64(EVP_PKEY *key, const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	size_t sl = 0;
	assert_int_equal(EVP_DigestSign(ctx, NULL, &sl, msg, len), 1);
	uint8_t *sig = malloc(sl);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sl, msg, len), 1);
	char *s = b64(sig, sl);
	free(sig);
	EVP_MD_CTX_free(ctx);
	return s;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	struct gate_error err = {0};
	uint8_t *buf = NULL;
	assert_int_equal(gate_read_file(path, 1 << 20, &buf, len, &err), GATE_OK);
	return buf;
}

/* A v0.3 bundle with publicKey material and no log entry. */
static json_t *keyed_bundle(json_t *content, const char *content_key)
{
	json_t *j = json_pack("{s:s, s:{s:{s:s}}}", "mediaType",
			      "application/vnd.dev.sigstore.bundle.v0.3+json",
			      "verificationMaterial", "publicKey", "hint", "test");
	assert_non_null(j);
	json_object_set_new(j, content_key, content);
	return j;
}

static void test_message_signature_with_key(void **state)
{
	(void)state;
	struct keyfix k;
	keyfix_init(&k);
	size_t len = 0;
	uint8_t *data = read_all(CONF "a.txt", &len);
	uint8_t dg[32];
	gate_sha256(data, len, dg);
	char *dg64 = b64(dg, 32);
	char *sig = sign_b64(k.pkey, data, len);
	struct run r = {.key_path = k.spki_path, .ignore_tlog = true};
	struct gate_error err = {0};
	struct gate_facts *f = NULL;

#define MSG(sigstr, dgstr)                                                                         \
	keyed_bundle(json_pack("{s:s, s:{s:s, s:s}}", "signature", sigstr, "messageDigest",        \
			       "algorithm", "SHA2_256", "digest", dgstr),                          \
		     "messageSignature")

	assert_int_equal(run_json(&r, MSG(sig, dg64), &f, &err), GATE_OK);
	assert_int_equal(f->kind, GATE_SIGNER_KEY);
	assert_int_equal(f->n_tlog, 0);
	assert_int_equal(f->signing_time, 0);
	gate_facts_free(f);
	f = NULL;

	/* one byte of the messageDigest hint */
	uint8_t bad[32];
	memcpy(bad, dg, 32);
	bad[31] ^= 1;
	char *bad64 = b64(bad, 32);
	expect_fail(run_json(&r, MSG(sig, bad64), &f, &err), &err, GATE_E_DIGEST, "S17",
		    "messageDigest");
	/* one byte of the signature */
	size_t sl = 0;
	uint8_t *raw = unb64(sig, &sl);
	raw[sl - 1] ^= 1;
	char *badsig = b64(raw, sl);
	expect_fail(run_json(&r, MSG(badsig, dg64), &f, &err), &err, GATE_E_SIGNATURE, "S17",
		    "signature");
	/* no log entry and none waived */
	r.ignore_tlog = false;
	expect_fail(run_json(&r, MSG(sig, dg64), &f, &err), &err, GATE_E_TLOG, "S13",
		    "no tlog entry");
	r.ignore_tlog = true;
	/* another key */
	struct keyfix k2;
	keyfix_init(&k2);
	r.key_path = k2.spki_path;
	expect_fail(run_json(&r, MSG(sig, dg64), &f, &err), &err, GATE_E_SIGNATURE, "S17",
		    "another key");
	/* the artifact changed: digest hint first */
	r.key_path = k.spki_path;
	r.artifact = CONF "happy-path-v0.3/README";
	expect_fail(run_json(&r, MSG(sig, dg64), &f, &err), &err, GATE_E_DIGEST, "S17",
		    "another artifact");
	assert_null(f);
#undef MSG
	keyfix_free(&k2);
	free(badsig);
	free(raw);
	free(bad64);
	free(sig);
	free(dg64);
	free(data);
	keyfix_free(&k);
}

/* An in-toto statement whose subject is sha256 `hex`, signed as DSSE. */
static json_t *dsse_bundle(EVP_PKEY *key, const char *type, const char *hex, bool flip)
{
	char stmt[512];
	snprintf(
		stmt, sizeof stmt,
		"{\"_type\":\"%s\",\"subject\":[{\"name\":\"a.txt\",\"digest\":{\"sha256\":\"%s\"}}],"
		"\"predicateType\":\"https://example.com/predicate/v1\",\"predicate\":{}}",
		type, hex);
	const char *pt = "application/vnd.in-toto+json";
	char pae[700];
	int n = snprintf(pae, sizeof pae, "DSSEv1 %zu %s %zu %s", strlen(pt), pt, strlen(stmt),
			 stmt);
	assert_true(n > 0 && (size_t)n < sizeof pae);
	char *sig = sign_b64(key, (const uint8_t *)pae, (size_t)n);
	if (flip) {
		size_t sl = 0;
		uint8_t *raw = unb64(sig, &sl);
		raw[sl / 2] ^= 1;
		free(sig);
		sig = b64(raw, sl);
		free(raw);
	}
	char *payload = b64((const uint8_t *)stmt, strlen(stmt));
	json_t *env = json_pack("{s:s, s:s, s:[{s:s}]}", "payload", payload, "payloadType", pt,
				"signatures", "sig", sig);
	assert_non_null(env);
	free(payload);
	free(sig);
	return keyed_bundle(env, "dsseEnvelope");
}

static void test_dsse_with_key(void **state)
{
	(void)state;
	struct keyfix k;
	keyfix_init(&k);
	char hex[65], other[65];
	sha256_hex_of_file(CONF "a.txt", hex);
	memcpy(other, hex, 65);
	other[63] = other[63] == '0' ? '1' : '0';
	const char *v1 = "https://in-toto.io/Statement/v1";
	struct run r = {.key_path = k.spki_path, .ignore_tlog = true};
	struct gate_error err = {0};
	struct gate_facts *f = NULL;

	assert_int_equal(run_json(&r, dsse_bundle(k.pkey, v1, hex, false), &f, &err), GATE_OK);
	assert_string_equal(f->payload_type, "application/vnd.in-toto+json");
	assert_string_equal(f->predicate_type, "https://example.com/predicate/v1");
	gate_facts_free(f);
	f = NULL;
	assert_int_equal(
		run_json(&r, dsse_bundle(k.pkey, "https://in-toto.io/Statement/v0.1", hex, false),
			 &f, &err),
		GATE_OK);
	gate_facts_free(f);
	f = NULL;

	expect_fail(run_json(&r, dsse_bundle(k.pkey, v1, hex, true), &f, &err), &err,
		    GATE_E_SIGNATURE, "S18", "DSSE signature byte");
	expect_fail(run_json(&r, dsse_bundle(k.pkey, v1, other, false), &f, &err), &err,
		    GATE_E_DIGEST, "S18", "subject digest");
	expect_fail(run_json(&r, dsse_bundle(k.pkey, "https://in-toto.io/Statement/v9", hex, false),
			     &f, &err),
		    &err, GATE_E_UNSUPPORTED, "S18", "statement type");
	assert_null(f);
	keyfix_free(&k);
}

/* S4: a key-mode call on a certificate bundle. */
static void test_key_on_certificate_bundle(void **state)
{
	(void)state;
	struct run r = {.key_path = CONF "managed-key-happy-path/key.pub"};
	struct gate_error err = {0};
	struct gate_facts *f = NULL;
	expect_fail(run_v03(&r, &f, &err), &err, GATE_E_KEY, "S4", "--key on a keyless bundle");
	assert_null(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_cases),
		cmocka_unit_test(test_facts_happy_v03),
		cmocka_unit_test(test_facts_rekor2),
		cmocka_unit_test(test_facts_managed_key),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_verification_time),
		cmocka_unit_test(test_one_byte_control),
		cmocka_unit_test(test_one_byte_artifact),
		cmocka_unit_test(test_one_byte_signature),
		cmocka_unit_test(test_one_byte_set),
		cmocka_unit_test(test_one_byte_checkpoint),
		cmocka_unit_test(test_one_byte_proof),
		cmocka_unit_test(test_one_byte_certificate),
		cmocka_unit_test(test_one_byte_body),
		cmocka_unit_test(test_tsa_time_outside_leaf_validity),
		cmocka_unit_test(test_bundle_chain_with_root),
		cmocka_unit_test(test_message_signature_with_key),
		cmocka_unit_test(test_dsse_with_key),
		cmocka_unit_test(test_key_on_certificate_bundle),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
