/* test_bundle.c - verify/sigstore/bundle.c: Sigstore bundle shape rules (S1-S3) on
 * every conformance bundle and on mutations of happy-path bundles built here
 * with jansson; cosign's detached outputs; a legacy `cosign --bundle`
 * document verified end to end. */
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

/* ------------------------------------------------------------------ */
/* helpers                                                            */

/* Serialise j and run the parser on it; j is consumed. */
static enum gate_err parse_json(json_t *j, struct gate_bundle **out, struct gate_error *err)
{
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	json_decref(j);
	enum gate_err rc = gate_bundle_parse((const uint8_t *)s, strlen(s), out, err);
	free(s);
	return rc;
}

/* Parse a mutated bundle and expect a specific rejection. */
static void mutated_fails(json_t *j, enum gate_err code, const char *rule, const char *what)
{
	struct gate_error err = {0};
	struct gate_bundle *b = NULL;
	enum gate_err rc = parse_json(j, &b, &err);
	expect_fail(rc, &err, code, rule, what);
	assert_null(b);
}

static X509 *leaf_of(json_t *j)
{
	json_t *v = vm(j);
	json_t *c = json_object_get(v, "certificate");
	if (!c)
		c = json_array_get(
			json_object_get(json_object_get(v, "x509CertificateChain"), "certificates"),
			0);
	return der_cert(json_string_value(json_object_get(c, "rawBytes")));
}

/* The public-good root's current CA chain: 0 = intermediate, 1 = root. */
static X509 *ca_cert(size_t which)
{
	json_t *root = load_json(PUBLIC_GOOD);
	json_t *certs = json_object_get(
		json_object_get(json_array_get(json_object_get(root, "certificateAuthorities"), 1),
				"certChain"),
		"certificates");
	assert_int_equal(json_array_size(certs), 2);
	X509 *x = der_cert(
		json_string_value(json_object_get(json_array_get(certs, which), "rawBytes")));
	json_decref(root);
	return x;
}

static char *pem_of(X509 **certs, size_t n)
{
	BIO *bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(PEM_write_bio_X509(bio, certs[i]), 1);
	char *data = NULL;
	long l = BIO_get_mem_data(bio, &data);
	assert_true(l > 0);
	char *out = strndup(data, (size_t)l);
	assert_non_null(out);
	BIO_free(bio);
	return out;
}

static bool cert_is(X509 *got, X509 *want)
{
	return got && X509_cmp(got, want) == 0;
}

/* ------------------------------------------------------------------ */
/* conformance bundles                                                */

struct parse_expect {
	const char *name;
	enum gate_err code;
	const char *rule;
};

/* Cases rejected by the parser itself: found by running `gate verify` on
 * every case and reading the error, then checked against spec S1-S3. */
static const struct parse_expect parse_failures[] = {
	{"bundle-malformed-json_fail", GATE_E_PARSE, "S1"},
	{"bundle-unknown-version_fail", GATE_E_UNSUPPORTED, "S1"},
	{"bundle-invalid-base64-signature_fail", GATE_E_PARSE, "S1"},
	{"bundle-empty-certificate-chain_fail", GATE_E_PARSE, "S1"},
	{"bundle-negative-log-index_fail", GATE_E_PARSE, "S3"},
	{"intoto-missing-inclusion-proof_fail", GATE_E_TLOG, "S3"}, /* v0.2 without proof */
	{"invalid-inclusion-proof_fail", GATE_E_TLOG, "S3"},	    /* proof, no checkpoint */
	{"bundle-with-root-cert_fail", GATE_E_TLOG, "S3"},	    /* also no checkpoint */
	{"rekor2-no-inclusion-proof_fail", GATE_E_TLOG, "S3"},	    /* v0.3 without proof */
	/* The RFC 3161 token was pasted with `base64` line wrapping; strict
	 * base64 (spec §1) rejects the newlines before S14 is reached. */
	{"rekor2-timestamp-with-incorrect-time_fail", GATE_E_PARSE, "S1"},
};

static const struct parse_expect *parse_expectation(const char *name)
{
	for (size_t i = 0; i < sizeof parse_failures / sizeof parse_failures[0]; i++)
		if (strcmp(parse_failures[i].name, name) == 0)
			return &parse_failures[i];
	return NULL;
}

static void test_conformance_bundles_parse(void **state)
{
	(void)state;
	DIR *d = opendir(CONF);
	assert_non_null(d);
	struct dirent *de;
	size_t ncases = 0, nfail = 0;
	while ((de = readdir(d)) != NULL) {
		char path[512];
		struct stat st;
		snprintf(path, sizeof path, CONF "%s/bundle.sigstore.json", de->d_name);
		if (de->d_name[0] == '.' || stat(path, &st) != 0)
			continue;
		ncases++;
		struct gate_error err = {0};
		struct gate_bundle *b = NULL;
		enum gate_err rc = gate_bundle_load(path, &b, &err);
		const struct parse_expect *x = parse_expectation(de->d_name);
		if (x) {
			nfail++;
			expect_fail(rc, &err, x->code, x->rule, de->d_name);
			assert_string_equal(err.file, path); /* load names the file */
			assert_null(b);
			continue;
		}
		if (rc != GATE_OK)
			print_message("%s: %s %s: %s\n", de->d_name, err.rule, err.field, err.msg);
		assert_int_equal(rc, GATE_OK);
		assert_non_null(b);
		assert_true(b->sig_len > 0);
		assert_true(b->minor >= 1 && b->minor <= 3);
		assert_true(!!b->leaf + !!b->has_pubkey_material == 1);
		gate_bundle_free(b);
	}
	closedir(d);
	assert_int_equal(ncases, 70);
	assert_int_equal(nfail, sizeof parse_failures / sizeof parse_failures[0]);
}

/* What the parser keeps of happy-path-v0.3. */
static void test_happy_v03_model(void **state)
{
	(void)state;
	struct gate_error err = {0};
	struct gate_bundle *b = NULL;
	assert_int_equal(gate_bundle_load(CONF "happy-path-v0.3/bundle.sigstore.json", &b, &err),
			 GATE_OK);
	assert_int_equal(b->minor, 3);
	assert_false(b->legacy);
	assert_non_null(b->leaf);
	assert_null(b->intermediates);
	assert_false(b->has_pubkey_material);
	assert_false(b->is_dsse);
	assert_true(b->has_digest);
	assert_int_equal(b->digest_len, 32);
	assert_int_equal(b->nentries, 1);
	const struct gate_tlog_entry *e = &b->entries[0];
	assert_int_equal(e->log_index, 79571823);
	assert_true(e->has_integrated_time);
	assert_int_equal(e->integrated_time, 1710869186);
	assert_string_equal(e->kind, "hashedrekord");
	assert_string_equal(e->version, "0.0.1");
	assert_true(e->has_proof);
	assert_int_equal(e->proof_index, 75408392);
	assert_int_equal(e->tree_size, 75408393);
	assert_int_equal(e->nhashes, 11);
	assert_non_null(e->set);
	assert_non_null(e->checkpoint);
	assert_int_equal(strlen(e->checkpoint), e->checkpoint_len);
	assert_true(strncmp(e->checkpoint, "rekor.sigstore.dev - ", 21) == 0);
	assert_non_null(e->body_json);
	gate_bundle_free(b);

	/* the other media types map to their minor version */
	assert_int_equal(gate_bundle_load(CONF "happy-path-v0.1/bundle.sigstore.json", &b, &err),
			 GATE_OK);
	assert_int_equal(b->minor, 1);
	gate_bundle_free(b);
	assert_int_equal(gate_bundle_load(CONF "happy-path-v0.3-new-mediaType/bundle.sigstore.json",
					  &b, &err),
			 GATE_OK);
	assert_int_equal(b->minor, 3);
	gate_bundle_free(b);
	assert_int_equal(gate_bundle_load(CONF "happy-path-intoto-in-dsse-v3/bundle.sigstore.json",
					  &b, &err),
			 GATE_OK);
	assert_true(b->is_dsse);
	assert_string_equal(b->payload_type, "application/vnd.in-toto+json");
	assert_true(b->payload_len > 0);
	gate_bundle_free(b);
}

/* ------------------------------------------------------------------ */
/* synthetic mutations                                                */

static void test_unmodified_roundtrip_parses(void **state)
{
	(void)state;
	/* The control for every mutation below: re-serialised, still fine. */
	struct gate_error err = {0};
	struct gate_bundle *b = NULL;
	assert_int_equal(parse_json(case_json("happy-path-v0.3"), &b, &err), GATE_OK);
	gate_bundle_free(b);
	assert_int_equal(parse_json(case_json("happy-path-intoto-in-dsse-v3"), &b, &err), GATE_OK);
	gate_bundle_free(b);
}

static void test_mutation_content_forms(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	json_t *other = case_json("happy-path-intoto-in-dsse-v3");
	json_object_set(j, "dsseEnvelope", json_object_get(other, "dsseEnvelope"));
	json_decref(other);
	mutated_fails(j, GATE_E_PARSE, "S1", "messageSignature and dsseEnvelope");

	j = case_json("happy-path-v0.3");
	json_object_del(j, "messageSignature");
	mutated_fails(j, GATE_E_PARSE, "S1", "neither messageSignature nor dsseEnvelope");

	j = case_json("happy-path-v0.3");
	json_object_set_new(j, "messageSignature", json_null());
	mutated_fails(j, GATE_E_PARSE, "S1", "messageSignature null");

	j = case_json("happy-path-v0.3");
	json_object_set_new(json_object_get(j, "messageSignature"), "signature", json_string(""));
	mutated_fails(j, GATE_E_PARSE, "S1", "empty signature");

	j = case_json("happy-path-v0.3");
	json_object_set_new(
		json_object_get(json_object_get(j, "messageSignature"), "messageDigest"),
		"algorithm", json_string("MD5"));
	mutated_fails(j, GATE_E_UNSUPPORTED, "S17", "unknown digest algorithm");

	j = case_json("happy-path-v0.3");
	json_object_set_new(j, "mediaType",
			    json_string("application/vnd.dev.sigstore.bundle+json;version=0.4"));
	mutated_fails(j, GATE_E_UNSUPPORTED, "S1", "unknown media type");

	j = case_json("happy-path-v0.3");
	json_object_del(j, "mediaType");
	mutated_fails(j, GATE_E_PARSE, "S1", "no media type");
}

static void test_mutation_key_material(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	json_object_set_new(vm(j), "publicKey", json_pack("{s:s}", "hint", "abc"));
	mutated_fails(j, GATE_E_PARSE, "S1", "certificate and publicKey");

	j = case_json("happy-path-v0.3");
	json_object_del(vm(j), "certificate");
	mutated_fails(j, GATE_E_PARSE, "S1", "no key material");

	j = case_json("happy-path-v0.3");
	json_object_set_new(json_object_get(vm(j), "certificate"), "rawBytes",
			    json_string("MIIBAAAA"));
	mutated_fails(j, GATE_E_PARSE, "S1", "certificate not DER");

	/* a chain larger than GATE_MAX_CHAIN */
	j = case_json("happy-path-v0.3");
	json_t *cert = json_object_get(vm(j), "certificate");
	json_t *certs = json_array();
	for (int i = 0; i <= GATE_MAX_CHAIN; i++)
		json_array_append(certs, cert);
	json_object_set_new(vm(j), "x509CertificateChain",
			    json_pack("{s:o}", "certificates", certs));
	json_object_del(vm(j), "certificate");
	mutated_fails(j, GATE_E_TOO_LARGE, "S1", "chain over the cap");
}

static void test_mutation_tlog_entries(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	uint8_t id[31] = {0};
	char *s = b64(id, sizeof id);
	json_object_set_new(json_object_get(entry0(j), "logId"), "keyId", json_string(s));
	free(s);
	mutated_fails(j, GATE_E_PARSE, "S3", "logId.keyId 31 bytes");

	j = case_json("happy-path-v0.3");
	json_object_del(entry0(j), "logId");
	mutated_fails(j, GATE_E_PARSE, "S1", "no logId");

	j = case_json("happy-path-v0.3");
	json_object_del(entry0(j), "kindVersion");
	mutated_fails(j, GATE_E_PARSE, "S1", "no kindVersion");

	j = case_json("happy-path-v0.3");
	json_object_set_new(entry0(j), "logIndex", json_integer(-1));
	mutated_fails(j, GATE_E_PARSE, "S3", "logIndex -1");

	j = case_json("happy-path-v0.3");
	json_object_set_new(entry0(j), "logIndex", json_string("1e3"));
	mutated_fails(j, GATE_E_PARSE, "S3", "logIndex 1e3");

	/* treeSize == inclusionProof.logIndex */
	j = case_json("happy-path-v0.3");
	json_object_set_new(proof0(j), "treeSize", json_string("75408392"));
	mutated_fails(j, GATE_E_TLOG, "S3", "treeSize == logIndex");
	j = case_json("happy-path-v0.3");
	json_object_set_new(proof0(j), "treeSize", json_string("1"));
	mutated_fails(j, GATE_E_TLOG, "S3", "treeSize < logIndex");

	j = case_json("happy-path-v0.3");
	json_object_del(proof0(j), "checkpoint");
	mutated_fails(j, GATE_E_TLOG, "S3", "proof without checkpoint");
	j = case_json("happy-path-v0.3");
	json_object_set_new(json_object_get(proof0(j), "checkpoint"), "envelope", json_string(""));
	mutated_fails(j, GATE_E_TLOG, "S3", "empty checkpoint envelope");

	j = case_json("happy-path-v0.3");
	uint8_t h31[31] = {1};
	s = b64(h31, sizeof h31);
	json_object_set_new(proof0(j), "rootHash", json_string(s));
	mutated_fails(j, GATE_E_PARSE, "S3", "rootHash 31 bytes");
	j = case_json("happy-path-v0.3");
	json_array_set_new(json_object_get(proof0(j), "hashes"), 3, json_string(s));
	mutated_fails(j, GATE_E_PARSE, "S3", "proof hash 31 bytes");
	free(s);

	j = case_json("happy-path-v0.3");
	json_t *hashes = json_object_get(proof0(j), "hashes");
	while (json_array_size(hashes) <= GATE_MAX_PROOF_HASHES)
		json_array_append(hashes, json_array_get(hashes, 0));
	mutated_fails(j, GATE_E_TOO_LARGE, "S3", "too many proof hashes");

	/* body kind differs from kindVersion */
	j = case_json("happy-path-v0.3");
	json_object_set_new(json_object_get(entry0(j), "kindVersion"), "kind", json_string("dsse"));
	mutated_fails(j, GATE_E_TLOG, "S3", "kindVersion.kind dsse over a hashedrekord body");
	j = case_json("happy-path-v0.3");
	json_object_set_new(json_object_get(entry0(j), "kindVersion"), "version",
			    json_string("0.0.2"));
	mutated_fails(j, GATE_E_TLOG, "S3", "kindVersion.version 0.0.2 over a 0.0.1 body");

	/* a body that is not JSON */
	j = case_json("happy-path-v0.3");
	json_object_set_new(entry0(j), "canonicalizedBody", json_string("bm90IGpzb24="));
	mutated_fails(j, GATE_E_PARSE, "S3", "body not JSON");

	/* v0.2+ needs a proof; v0.1 needs a promise */
	j = case_json("happy-path-v0.3");
	json_object_del(entry0(j), "inclusionProof");
	mutated_fails(j, GATE_E_TLOG, "S3", "v0.3 without proof");
	j = case_json("happy-path-v0.1");
	json_object_del(entry0(j), "inclusionPromise");
	mutated_fails(j, GATE_E_TLOG, "S3", "v0.1 without promise");
	{
		/* v0.1 with a promise and no proof is fine */
		struct gate_error err = {0};
		struct gate_bundle *b = NULL;
		j = case_json("happy-path-v0.1");
		json_object_del(entry0(j), "inclusionProof");
		assert_int_equal(parse_json(j, &b, &err), GATE_OK);
		assert_false(b->entries[0].has_proof);
		gate_bundle_free(b);
	}
}

static void test_mutation_entry_counts(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	json_t *arr = json_object_get(vm(j), "tlogEntries");
	json_array_append_new(arr, json_deep_copy(json_array_get(arr, 0)));
	mutated_fails(j, GATE_E_TLOG, "S3", "duplicate tlog entry");

	/* same log, other index: not a duplicate (shape only) */
	{
		struct gate_error err = {0};
		struct gate_bundle *b = NULL;
		j = case_json("happy-path-v0.3");
		arr = json_object_get(vm(j), "tlogEntries");
		json_t *e = json_deep_copy(json_array_get(arr, 0));
		json_object_set_new(e, "logIndex", json_string("79571824"));
		json_array_append_new(arr, e);
		assert_int_equal(parse_json(j, &b, &err), GATE_OK);
		assert_int_equal(b->nentries, 2);
		gate_bundle_free(b);
	}

	j = case_json("happy-path-v0.3");
	arr = json_object_get(vm(j), "tlogEntries");
	for (int i = 1; i <= GATE_MAX_TLOG_ENTRIES; i++) {
		json_t *e = json_deep_copy(json_array_get(arr, 0));
		json_object_set_new(e, "logIndex", json_integer(79571823 + i));
		json_array_append_new(arr, e);
	}
	assert_int_equal(json_array_size(arr), GATE_MAX_TLOG_ENTRIES + 1);
	mutated_fails(j, GATE_E_TOO_LARGE, "S3", "17 tlog entries");

	/* exactly the cap parses */
	{
		struct gate_error err = {0};
		struct gate_bundle *b = NULL;
		j = case_json("happy-path-v0.3");
		arr = json_object_get(vm(j), "tlogEntries");
		for (int i = 1; i < GATE_MAX_TLOG_ENTRIES; i++) {
			json_t *e = json_deep_copy(json_array_get(arr, 0));
			json_object_set_new(e, "logIndex", json_integer(79571823 + i));
			json_array_append_new(arr, e);
		}
		assert_int_equal(parse_json(j, &b, &err), GATE_OK);
		assert_int_equal(b->nentries, GATE_MAX_TLOG_ENTRIES);
		gate_bundle_free(b);
	}

	/* RFC 3161 tokens are capped too */
	j = case_json("rekor2-happy-path");
	arr = json_object_get(json_object_get(vm(j), "timestampVerificationData"),
			      "rfc3161Timestamps");
	assert_int_equal(json_array_size(arr), 1);
	while (json_array_size(arr) <= GATE_MAX_TSA_TOKENS)
		json_array_append_new(arr, json_deep_copy(json_array_get(arr, 0)));
	mutated_fails(j, GATE_E_TOO_LARGE, "S12", "17 timestamps");
}

static void test_mutation_dsse(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-intoto-in-dsse-v3");
	json_t *sigs = json_object_get(json_object_get(j, "dsseEnvelope"), "signatures");
	json_array_append_new(sigs, json_deep_copy(json_array_get(sigs, 0)));
	mutated_fails(j, GATE_E_PARSE, "S2", "DSSE with two signatures");

	j = case_json("happy-path-intoto-in-dsse-v3");
	json_array_clear(json_object_get(json_object_get(j, "dsseEnvelope"), "signatures"));
	mutated_fails(j, GATE_E_PARSE, "S2", "DSSE with no signature");

	j = case_json("happy-path-intoto-in-dsse-v3");
	json_object_set_new(json_object_get(j, "dsseEnvelope"), "payloadType",
			    json_string("text/plain"));
	mutated_fails(j, GATE_E_UNSUPPORTED, "S2", "payloadType text/plain");

	j = case_json("happy-path-intoto-in-dsse-v3");
	json_object_set_new(json_object_get(j, "dsseEnvelope"), "payloadType",
			    json_string("application/vnd.in-toto+json "));
	mutated_fails(j, GATE_E_UNSUPPORTED, "S2", "payloadType with a trailing space");

	j = case_json("happy-path-intoto-in-dsse-v3");
	json_object_set_new(json_object_get(j, "dsseEnvelope"), "payload", json_string("e30"));
	mutated_fails(j, GATE_E_PARSE, "S1", "payload not padded base64");
}

static void test_oversized_input(void **state)
{
	(void)state;
	size_t n = (size_t)GATE_MAX_BUNDLE + 1;
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	memset(buf, ' ', n);
	buf[0] = '{';
	buf[n - 1] = '}';
	struct gate_error err = {0};
	struct gate_bundle *b = NULL;
	expect_fail(gate_bundle_parse(buf, n, &b, &err), &err, GATE_E_TOO_LARGE, "S1",
		    "bundle over GATE_MAX_BUNDLE");
	assert_null(b);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* detached cosign outputs                                            */

static void test_detached_signature_text(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	const char *sig = json_string_value(
		json_object_get(json_object_get(j, "messageSignature"), "signature"));
	size_t rawlen = 0;
	uint8_t *raw = unb64(sig, &rawlen);
	struct gate_error err = {0};
	struct gate_bundle *b = NULL;

	char text[256];
	snprintf(text, sizeof text, "%s\n", sig);
	assert_int_equal(gate_bundle_from_detached((const uint8_t *)text, strlen(text), NULL, 0,
						   NULL, 0, &b, &err),
			 GATE_OK);
	assert_int_equal(b->sig_len, rawlen);
	assert_memory_equal(b->sig, raw, rawlen);
	assert_null(b->leaf);
	assert_true(b->has_pubkey_material);
	assert_true(b->legacy);
	assert_int_equal(b->nentries, 0);
	gate_bundle_free(b);
	b = NULL;

	snprintf(text, sizeof text, "  %s\r\n\n", sig);
	assert_int_equal(gate_bundle_from_detached((const uint8_t *)text, strlen(text), NULL, 0,
						   NULL, 0, &b, &err),
			 GATE_OK);
	gate_bundle_free(b);
	b = NULL;

	expect_fail(gate_bundle_from_detached((const uint8_t *)"", 0, NULL, 0, NULL, 0, &b, &err),
		    &err, GATE_E_PARSE, "S1", "empty signature");
	expect_fail(
		gate_bundle_from_detached((const uint8_t *)" \n\n", 3, NULL, 0, NULL, 0, &b, &err),
		&err, GATE_E_PARSE, "S1", "blank signature");
	snprintf(text, sizeof text, "%.10s\n%s", sig, sig + 10);
	expect_fail(gate_bundle_from_detached((const uint8_t *)text, strlen(text), NULL, 0, NULL, 0,
					      &b, &err),
		    &err, GATE_E_PARSE, "S1", "newline inside the signature");
	expect_fail(gate_bundle_from_detached((const uint8_t *)"AAAA\0AAA", 8, NULL, 0, NULL, 0, &b,
					      &err),
		    &err, GATE_E_PARSE, "S1", "NUL inside the signature");
	assert_null(b);
	free(raw);
	json_decref(j);
}

static void test_detached_certificate_forms(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	const char *sig = json_string_value(
		json_object_get(json_object_get(j, "messageSignature"), "signature"));
	X509 *leaf = leaf_of(j);
	char *pem = pem_of(&leaf, 1);
	char *pem_b64 = b64((const uint8_t *)pem, strlen(pem));
	unsigned char *der = NULL;
	int derlen = i2d_X509(leaf, &der);
	assert_true(derlen > 0);
	struct gate_error err = {0};
	struct gate_bundle *b = NULL;

	const struct {
		const uint8_t *p;
		size_t n;
		const char *what;
	} forms[] = {
		{(const uint8_t *)pem, strlen(pem), "PEM"},
		{(const uint8_t *)pem_b64, strlen(pem_b64), "base64 of PEM"},
		{der, (size_t)derlen, "DER"},
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		enum gate_err rc =
			gate_bundle_from_detached((const uint8_t *)sig, strlen(sig), forms[i].p,
						  forms[i].n, NULL, 0, &b, &err);
		if (rc != GATE_OK)
			print_message("%s: %s\n", forms[i].what, err.msg);
		assert_int_equal(rc, GATE_OK);
		assert_true(cert_is(b->leaf, leaf));
		assert_false(b->has_pubkey_material);
		assert_null(b->intermediates);
		gate_bundle_free(b);
		b = NULL;
	}

	/* two certificates in --certificate */
	X509 *two[2] = {leaf, leaf};
	char *pem2 = pem_of(two, 2);
	expect_fail(gate_bundle_from_detached((const uint8_t *)sig, strlen(sig),
					      (const uint8_t *)pem2, strlen(pem2), NULL, 0, &b,
					      &err),
		    &err, GATE_E_PARSE, "S1", "two certificates");
	/* garbage certificate */
	const char *junk = "not a certificate";
	memset(&err, 0, sizeof err);
	enum gate_err rc =
		gate_bundle_from_detached((const uint8_t *)sig, strlen(sig), (const uint8_t *)junk,
					  strlen(junk), NULL, 0, &b, &err);
	expect_fail(rc, &err, GATE_E_PARSE, "S1", "garbage certificate");
	assert_null(b);

	free(pem2);
	OPENSSL_free(der);
	free(pem_b64);
	free(pem);
	X509_free(leaf);
	json_decref(j);
}

static void test_detached_chain(void **state)
{
	(void)state;
	json_t *j = case_json("happy-path-v0.3");
	const char *sig = json_string_value(
		json_object_get(json_object_get(j, "messageSignature"), "signature"));
	X509 *leaf = leaf_of(j);
	X509 *chain[2] = {ca_cert(0), ca_cert(1)};
	char *leaf_pem = pem_of(&leaf, 1);
	char *chain_pem = pem_of(chain, 2);
	struct gate_error err = {0};
	struct gate_bundle *b = NULL;

	/* cosign's chain file ends with the self-signed root: it is dropped */
	enum gate_err rc = gate_bundle_from_detached(
		(const uint8_t *)sig, strlen(sig), (const uint8_t *)leaf_pem, strlen(leaf_pem),
		(const uint8_t *)chain_pem, strlen(chain_pem), &b, &err);
	if (rc != GATE_OK)
		print_message("%s\n", err.msg);
	assert_int_equal(rc, GATE_OK);
	assert_true(cert_is(b->leaf, leaf));
	assert_non_null(b->intermediates);
	assert_int_equal(sk_X509_num(b->intermediates), 1);
	assert_true(cert_is(sk_X509_value(b->intermediates, 0), chain[0]));
	gate_bundle_free(b);
	b = NULL;

	/* a chain with no certificate is a usage error */
	memset(&err, 0, sizeof err);
	rc = gate_bundle_from_detached((const uint8_t *)sig, strlen(sig), NULL, 0,
				       (const uint8_t *)chain_pem, strlen(chain_pem), &b, &err);
	assert_int_equal(rc, GATE_E_USAGE);
	assert_int_equal(err.code, GATE_E_USAGE);
	assert_null(b);

	/* a chain that is not PEM */
	memset(&err, 0, sizeof err);
	rc = gate_bundle_from_detached((const uint8_t *)sig, strlen(sig), (const uint8_t *)leaf_pem,
				       strlen(leaf_pem), (const uint8_t *)"junk", 4, &b, &err);
	expect_fail(rc, &err, GATE_E_PARSE, "S1", "junk chain");
	assert_null(b);

	free(leaf_pem);
	free(chain_pem);
	X509_free(chain[0]);
	X509_free(chain[1]);
	X509_free(leaf);
	json_decref(j);
}

/* ------------------------------------------------------------------ */
/* legacy `cosign sign-blob --bundle`                                 */

/* A legacy bundle from happy-path-v0.1's data. sig_flip >= 0 flips one
 * byte of the signature. */
static char *legacy_bundle(int sig_flip, bool cert_as_pem)
{
	json_t *j = case_json("happy-path-v0.1");
	json_t *e = entry0(j);
	const char *sig = json_string_value(
		json_object_get(json_object_get(j, "messageSignature"), "signature"));
	size_t sl = 0;
	uint8_t *raw = unb64(sig, &sl);
	if (sig_flip >= 0) {
		assert_true((size_t)sig_flip < sl);
		raw[sig_flip] ^= 0x01;
	}
	char *sig64 = b64(raw, sl);
	X509 *leaf = leaf_of(j);
	char *pem = pem_of(&leaf, 1);
	char *cert = cert_as_pem ? strdup(pem) : b64((const uint8_t *)pem, strlen(pem));
	size_t idl = 0;
	uint8_t *id = unb64(
		json_string_value(json_object_get(json_object_get(e, "logId"), "keyId")), &idl);
	assert_int_equal(idl, 32);
	char idhex[65];
	gate_hex_encode(id, 32, idhex);
	json_t *legacy = json_pack(
		"{s:s, s:s, s:{s:O, s:{s:O, s:I, s:I, s:s}}}", "base64Signature", sig64, "cert",
		cert, "rekorBundle", "SignedEntryTimestamp",
		json_object_get(json_object_get(e, "inclusionPromise"), "signedEntryTimestamp"),
		"Payload", "body", json_object_get(e, "canonicalizedBody"), "integratedTime",
		(json_int_t)1689177396, "logIndex", (json_int_t)27246492, "logID", idhex);
	assert_non_null(legacy);
	char *out = json_dumps(legacy, JSON_COMPACT);
	assert_non_null(out);
	json_decref(legacy);
	free(id);
	free(cert);
	free(pem);
	X509_free(leaf);
	free(sig64);
	free(raw);
	json_decref(j);
	return out;
}

static enum gate_err verify_legacy(const char *doc, struct gate_facts **facts,
				   struct gate_error *err)
{
	struct gate_trusted_root *root = NULL;
	struct gate_artifact *a = NULL;
	struct gate_bundle *b = NULL;
	assert_int_equal(gate_trusted_root_load(PUBLIC_GOOD, &root, err), GATE_OK);
	assert_int_equal(gate_artifact_open(CONF "a.txt", &a, err), GATE_OK);
	enum gate_err rc = gate_bundle_parse((const uint8_t *)doc, strlen(doc), &b, err);
	if (rc == GATE_OK) {
		struct gate_verify_opts o = {
			.root = root,
			.identity = DEFAULT_IDENTITY,
			.issuer = DEFAULT_ISSUER,
			.require_tlog = true,
		};
		rc = gate_verify_bundle(b, a, &o, facts, err);
	}
	gate_bundle_free(b);
	gate_artifact_free(a);
	gate_trusted_root_free(root);
	return rc;
}

static void test_legacy_bundle_verifies(void **state)
{
	(void)state;
	for (int as_pem = 0; as_pem < 2; as_pem++) {
		char *doc = legacy_bundle(-1, as_pem);
		struct gate_error err = {0};
		struct gate_facts *f = NULL;
		struct gate_bundle *b = NULL;
		assert_int_equal(gate_bundle_parse((const uint8_t *)doc, strlen(doc), &b, &err),
				 GATE_OK);
		assert_true(b->legacy);
		assert_non_null(b->leaf);
		assert_int_equal(b->nentries, 1);
		assert_int_equal(b->entries[0].log_index, 27246492);
		assert_int_equal(b->entries[0].integrated_time, 1689177396);
		assert_false(b->entries[0].has_proof);
		gate_bundle_free(b);

		enum gate_err rc = verify_legacy(doc, &f, &err);
		if (rc != GATE_OK)
			print_message("%s %s: %s\n", err.rule, err.field, err.msg);
		assert_int_equal(rc, GATE_OK);
		assert_non_null(f);
		assert_int_equal(f->kind, GATE_SIGNER_KEYLESS);
		assert_string_equal(f->identity, DEFAULT_IDENTITY);
		assert_string_equal(f->issuer, DEFAULT_ISSUER);
		assert_int_equal(f->n_tlog, 1);
		assert_int_equal(f->log_index[0], 27246492);
		assert_int_equal(f->signing_time, 1689177396);
		assert_int_equal(f->time_source, GATE_TIME_TLOG);
		gate_facts_free(f);
		free(doc);
	}
}

static void test_legacy_bundle_one_byte(void **state)
{
	(void)state;
	/* first, a middle and the last byte of the DER signature */
	const int flips[] = {0, 20, 69};
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		char *doc = legacy_bundle(flips[i], false);
		struct gate_error err = {0};
		struct gate_facts *f = NULL;
		enum gate_err rc = verify_legacy(doc, &f, &err);
		if (rc == GATE_OK)
			print_message("flip at %d accepted\n", flips[i]);
		assert_int_not_equal(rc, GATE_OK);
		assert_false(gate_err_is_input(rc)); /* a rejection, not a usage error */
		/* the log body records the original signature (S6) */
		expect_fail(rc, &err, GATE_E_MISMATCH, "S6", "legacy signature flip");
		assert_null(f);
		free(doc);
	}
}

static void test_legacy_bundle_shapes(void **state)
{
	(void)state;
	struct gate_error err = {0};
	struct gate_bundle *b = NULL;
	/* no rekorBundle: parses, but fails require_tlog */
	const char *bare = "{\"base64Signature\":\"MEUCIQ==\"}";
	assert_int_equal(gate_bundle_parse((const uint8_t *)bare, strlen(bare), &b, &err), GATE_OK);
	assert_true(b->legacy);
	assert_true(b->has_pubkey_material);
	assert_int_equal(b->nentries, 0);
	gate_bundle_free(b);
	b = NULL;

	const char *bad_logid =
		"{\"base64Signature\":\"MEUCIQ==\",\"rekorBundle\":{\"SignedEntryTimestamp\":"
		"\"MEUCIQ==\",\"Payload\":{\"body\":\"e30=\",\"integratedTime\":1,\"logIndex\":1,"
		"\"logID\":\"zz\"}}}";
	expect_fail(gate_bundle_parse((const uint8_t *)bad_logid, strlen(bad_logid), &b, &err),
		    &err, GATE_E_PARSE, "S3", "legacy logID not hex");
	const char *neg =
		"{\"base64Signature\":\"MEUCIQ==\",\"rekorBundle\":{\"SignedEntryTimestamp\":"
		"\"MEUCIQ==\",\"Payload\":{\"body\":\"e30=\",\"integratedTime\":1,\"logIndex\":-5,"
		"\"logID\":\"00\"}}}";
	expect_fail(gate_bundle_parse((const uint8_t *)neg, strlen(neg), &b, &err), &err,
		    GATE_E_PARSE, "S3", "legacy negative logIndex");
	const char *badsig = "{\"base64Signature\":\"MEUCIQ\"}";
	expect_fail(gate_bundle_parse((const uint8_t *)badsig, strlen(badsig), &b, &err), &err,
		    GATE_E_PARSE, "S1", "legacy signature not base64");
	assert_null(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_bundles_parse),
		cmocka_unit_test(test_happy_v03_model),
		cmocka_unit_test(test_unmodified_roundtrip_parses),
		cmocka_unit_test(test_mutation_content_forms),
		cmocka_unit_test(test_mutation_key_material),
		cmocka_unit_test(test_mutation_tlog_entries),
		cmocka_unit_test(test_mutation_entry_counts),
		cmocka_unit_test(test_mutation_dsse),
		cmocka_unit_test(test_oversized_input),
		cmocka_unit_test(test_detached_signature_text),
		cmocka_unit_test(test_detached_certificate_forms),
		cmocka_unit_test(test_detached_chain),
		cmocka_unit_test(test_legacy_bundle_verifies),
		cmocka_unit_test(test_legacy_bundle_one_byte),
		cmocka_unit_test(test_legacy_bundle_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
