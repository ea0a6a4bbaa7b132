/* test_tlog.c - verify/sigstore/tlog.c: SignedEntryTimestamp (S7), signed checkpoint
 * (S8) and Merkle inclusion proof (S9), on the Sigstore conformance bundles
 * and on synthetic data built here with independent code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONF GATE_SHARED_DIR "/conformance/sigstore/bundle-verify/"
#define PUBLIC_GOOD GATE_SHARED_DIR "/trust/sigstore-public-good/trusted_root.json"

/* ------------------------------------------------------------------ */
/* small independent helpers                                          */

static void sha256_buf(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;
	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, 32);
}

static void hex_to(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static char *b64_enc(const uint8_t *p, size_t n)
{
	char *out = malloc((n + 2) / 3 * 4 + 1);
	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* Concatenate NUL-terminated strings up to a NULL. */
static char *cat(const char *first, ...)
{
	va_list ap;
	size_t n = 0;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		n += strlen(s);
	va_end(ap);
	char *out = malloc(n + 1), *p = out;
	assert_non_null(out);
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		size_t l = strlen(s);
		memcpy(p, s, l);
		p += l;
	}
	va_end(ap);
	*p = '\0';
	return out;
}

/* A rejection must carry the exact code, the rule and a reason. */
static void expect_fail(enum gate_err rc, const struct gate_error *err, enum gate_err code,
			const char *rule, const char *substr)
{
	if (rc != code || (substr && !strstr(err->msg, substr)))
		print_message("got rc=%d msg='%s'\n", (int)rc, err->msg);
	assert_int_equal(rc, code);
	assert_int_equal(err->code, code);
	assert_string_equal(err->rule, rule);
	assert_true(err->msg[0] != '\0');
	if (substr)
		assert_non_null(strstr(err->msg, substr));
}

/* ------------------------------------------------------------------ */
/* conformance bundles                                                */

struct fix {
	struct gate_trusted_root *root;
	const struct gate_log *log;
	struct gate_tlog_entry e;
};

static uint8_t *b64_member(json_t *obj, const char *key, size_t *len)
{
	const char *s = json_string_value(json_object_get(obj, key));
	uint8_t *out = NULL;
	struct gate_error err = {0};
	assert_non_null(s);
	assert_int_equal(gate_b64_decode(s, strlen(s), &out, len, key, &err), GATE_OK);
	return out;
}

static void b64_member32(json_t *obj, const char *key, uint8_t out[32])
{
	size_t len = 0;
	uint8_t *raw = b64_member(obj, key, &len);
	assert_int_equal(len, 32);
	memcpy(out, raw, 32);
	free(raw);
}

/* int64 fields are decimal strings in the protobuf JSON mapping. */
static int64_t i64_member(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	char *end = NULL;
	assert_non_null(s);
	long long v = strtoll(s, &end, 10);
	assert_true(*s && *end == '\0' && v >= 0);
	return (int64_t)v;
}

static void fill_proof(json_t *p, struct gate_tlog_entry *e)
{
	json_t *hashes = json_object_get(p, "hashes");
	const char *cp =
		json_string_value(json_object_get(json_object_get(p, "checkpoint"), "envelope"));
	e->has_proof = true;
	e->proof_index = i64_member(p, "logIndex");
	e->tree_size = i64_member(p, "treeSize");
	b64_member32(p, "rootHash", e->root_hash);
	e->nhashes = json_array_size(hashes);
	e->hashes = calloc(e->nhashes + 1, 32);
	assert_non_null(e->hashes);
	for (size_t i = 0; i < e->nhashes; i++) {
		const char *h = json_string_value(json_array_get(hashes, i));
		uint8_t *raw = NULL;
		size_t len = 0;
		struct gate_error err = {0};
		assert_non_null(h);
		assert_int_equal(gate_b64_decode(h, strlen(h), &raw, &len, "hash", &err), GATE_OK);
		assert_int_equal(len, 32);
		memcpy(e->hashes[i], raw, 32);
		free(raw);
	}
	assert_non_null(cp);
	e->checkpoint = strdup(cp);
	assert_non_null(e->checkpoint);
	e->checkpoint_len = strlen(cp);
}

/* verificationMaterial.tlogEntries[0], filled by hand (bundle.c is not
 * under test here). */
static void fill_entry(json_t *t, struct gate_tlog_entry *e)
{
	json_t *promise = json_object_get(t, "inclusionPromise");
	json_t *proof = json_object_get(t, "inclusionProof");
	const char *body = json_string_value(json_object_get(t, "canonicalizedBody"));
	e->log_index = i64_member(t, "logIndex");
	b64_member32(json_object_get(t, "logId"), "keyId", e->log_id);
	if (json_object_get(t, "integratedTime")) {
		e->has_integrated_time = true;
		e->integrated_time = i64_member(t, "integratedTime");
	}
	if (promise)
		e->set = b64_member(promise, "signedEntryTimestamp", &e->set_len);
	if (proof)
		fill_proof(proof, e);
	assert_non_null(body);
	e->body_b64 = strdup(body);
	assert_non_null(e->body_b64);
	e->body = b64_member(t, "canonicalizedBody", &e->body_len);
}

/* A case's own trusted_root.json if it has one, else the public-good root. */
static void load_case(const char *name, struct fix *f)
{
	char path[512];
	struct gate_error err = {0};
	json_error_t jerr;
	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof path, CONF "%s/trusted_root.json", name);
	if (access(path, R_OK) != 0)
		snprintf(path, sizeof path, "%s", PUBLIC_GOOD);
	assert_int_equal(gate_trusted_root_load(path, &f->root, &err), GATE_OK);
	snprintf(path, sizeof path, CONF "%s/bundle.sigstore.json", name);
	json_t *b = json_load_file(path, 0, &jerr);
	assert_non_null(b);
	json_t *t = json_array_get(
		json_object_get(json_object_get(b, "verificationMaterial"), "tlogEntries"), 0);
	assert_non_null(t);
	fill_entry(t, &f->e);
	json_decref(b);
	f->log = gate_root_find_log(f->root->tlogs, f->root->ntlogs, f->e.log_id);
	assert_non_null(f->log);
}

static void free_case(struct fix *f)
{
	free(f->e.set);
	free(f->e.hashes);
	free(f->e.checkpoint);
	free(f->e.body);
	free(f->e.body_b64);
	gate_trusted_root_free(f->root);
}

static enum gate_err case_checkpoint(const struct fix *f, struct gate_error *err)
{
	return gate_checkpoint_verify(f->e.checkpoint, f->e.checkpoint_len, f->log,
				      (uint64_t)f->e.tree_size, f->e.root_hash, err);
}

static enum gate_err case_merkle(const struct fix *f, struct gate_error *err)
{
	return gate_merkle_verify(f->e.body, f->e.body_len, (uint64_t)f->e.proof_index,
				  (uint64_t)f->e.tree_size, (const uint8_t(*)[32])f->e.hashes,
				  f->e.nhashes, f->e.root_hash, err);
}

static void test_v03_set(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("happy-path-v0.3", &f);
	assert_int_equal(gate_set_verify(&f.e, f.log, &err), GATE_OK);
	free_case(&f);
}

static void test_v03_checkpoint(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("happy-path-v0.3", &f);
	assert_int_equal(case_checkpoint(&f, &err), GATE_OK);
	free_case(&f);
}

static void test_v03_merkle(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("happy-path-v0.3", &f);
	assert_int_equal(case_merkle(&f, &err), GATE_OK);
	/* The SET is over the top-level logIndex; the proof uses the
	 * shard-local one. Swapping them must break the proof. */
	assert_int_not_equal(f.e.log_index, f.e.proof_index);
	f.e.proof_index = f.e.log_index % f.e.tree_size;
	expect_fail(case_merkle(&f, &err), &err, GATE_E_INCLUSION, "S9", NULL);
	free_case(&f);
}

/* v0.1: checkpoint with a "Timestamp:" extension line. */
static void test_v01_all(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("happy-path-v0.1", &f);
	assert_int_equal(gate_set_verify(&f.e, f.log, &err), GATE_OK);
	assert_int_equal(case_checkpoint(&f, &err), GATE_OK);
	assert_int_equal(case_merkle(&f, &err), GATE_OK);
	free_case(&f);
}

static void test_rekor2_happy(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("rekor2-happy-path", &f);
	assert_int_equal(gate_log_key(f.log)->alg, GATE_ALG_ED25519);
	assert_int_equal(case_checkpoint(&f, &err), GATE_OK);
	assert_int_equal(case_merkle(&f, &err), GATE_OK);
	/* Rekor v2 never issues a SET. */
	expect_fail(gate_set_verify(&f.e, f.log, &err), &err, GATE_E_TLOG, "S7",
		    "no signedEntryTimestamp");
	free_case(&f);
}

static void test_conf_checkpoint_passes(void **state)
{
	struct fix f;
	struct gate_error err = {0};
	load_case((const char *)*state, &f);
	if (case_checkpoint(&f, &err) != GATE_OK)
		print_message("%s: %s\n", (const char *)*state, err.msg);
	assert_int_equal(case_checkpoint(&f, &err), GATE_OK);
	free_case(&f);
}

struct fail_case {
	const char *name;
	const char *msg;
};

static struct fail_case ck_fail[] = {
	{"rekor2-checkpoint-missing-log-signature_fail",
	 "no signature line from log2025-alpha1.rekor.sigstage.dev verified"},
	{"rekor2-checkpoint-missing-origin_fail", "is not a decimal number"},
	{"rekor2-checkpoint-missing-root-hash_fail", "missing root hash line"},
	{"rekor2-checkpoint-missing-size_fail", "is not a decimal number"},
	{"rekor2-checkpoint-no-matching-signature_fail",
	 "no signature line from log2025-alpha1.rekor.sigstage.dev verified"},
	{"checkpoint-bad-keyhint_fail", "no signature line from rekor.sigstore.dev verified"},
	{"invalid-checkpoint-signature_fail",
	 "signature line 1 from rekor.sigstore.dev does not verify"},
	{"checkpoint-wrong-roothash_fail",
	 "tree size 75610772 does not match inclusion proof tree size 23083062"},
};

static void test_conf_checkpoint_fails(void **state)
{
	const struct fail_case *c = *state;
	struct fix f;
	struct gate_error err = {0};
	load_case(c->name, &f);
	expect_fail(case_checkpoint(&f, &err), &err, GATE_E_CHECKPOINT, "S8", c->msg);
	free_case(&f);
}

/* wrong-roothash also differs in root: with its size matched, the root
 * comparison alone must still reject. */
static void test_conf_wrong_root_only(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("checkpoint-wrong-roothash_fail", &f);
	expect_fail(gate_checkpoint_verify(f.e.checkpoint, f.e.checkpoint_len, f.log, 75610772,
					   f.e.root_hash, &err),
		    &err, GATE_E_CHECKPOINT, "S8", "root hash does not match");
	free_case(&f);
}

static void test_conf_corrupted_hash(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("inclusion-proof-corrupted-hash_fail", &f);
	/* The checkpoint is intact; only the audit path is corrupted. */
	assert_int_equal(case_checkpoint(&f, &err), GATE_OK);
	expect_fail(case_merkle(&f, &err), &err, GATE_E_INCLUSION, "S9",
		    "does not lead to the root hash");
	free_case(&f);
}

static void test_conf_set_invalid(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("set-invalid-signature_fail", &f);
	expect_fail(gate_set_verify(&f.e, f.log, &err), &err, GATE_E_TLOG, "S7", "does not verify");
	free_case(&f);
}

static void test_conf_validity_end_inclusive(void **state)
{
	(void)state;
	struct fix f;
	struct gate_error err = {0};
	load_case("trust-root-tlog-validity-end-inclusive", &f);
	assert_true(f.log->valid.has_end);
	assert_int_equal(f.log->valid.end, f.e.integrated_time);
	assert_int_equal(gate_set_verify(&f.e, f.log, &err), GATE_OK);
	struct gate_log early = *f.log;
	early.valid.end = f.e.integrated_time - 1;
	expect_fail(gate_set_verify(&f.e, &early, &err), &err, GATE_E_TLOG, "S7",
		    "outside the validity");
	free_case(&f);
}

/* ------------------------------------------------------------------ */
/* S9 against an independent RFC 6962 implementation                  */

#define MAX_LEAVES 34

static void ref_leaf(const void *data, size_t n, uint8_t out[32])
{
	uint8_t buf[64];
	assert_true(n < sizeof(buf));
	buf[0] = 0x00;
	memcpy(buf + 1, data, n);
	sha256_buf(buf, n + 1, out);
}

static void ref_node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
	uint8_t buf[65];
	buf[0] = 0x01;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	sha256_buf(buf, sizeof buf, out);
}

/* Largest power of two smaller than n (n >= 2). */
static size_t split_point(size_t n)
{
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	return k;
}

/* RFC 6962 §2.1 MTH over leaf hashes D[0:n], n >= 1. */
static void ref_mth(const uint8_t (*d)[32], size_t n, uint8_t out[32])
{
	uint8_t l[32], r[32];
	if (n == 1) {
		memcpy(out, d[0], 32);
		return;
	}
	size_t k = split_point(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	ref_node(l, r, out);
}

/* RFC 6962 §2.1.1 PATH(m, D[n]); returns the number of hashes written. */
static size_t ref_path(size_t m, const uint8_t (*d)[32], size_t n, uint8_t (*out)[32])
{
	if (n == 1)
		return 0;
	size_t k = split_point(n), c;
	if (m < k) {
		c = ref_path(m, d, k, out);
		ref_mth(d + k, n - k, out[c]);
	} else {
		c = ref_path(m - k, d + k, n - k, out);
		ref_mth(d, k, out[c]);
	}
	return c + 1;
}

/* Anchor the reference implementation to the certificate-transparency
 * project's published vectors, and check two published audit paths. */
static void test_merkle_ct_vectors(void **state)
{
	(void)state;
	static const char *const leaves[] = {"",
					     "00",
					     "10",
					     "2021",
					     "3031",
					     "40414243",
					     "5051525354555657",
					     "606162636465666768696a6b6c6d6e6f"};
	static const char *const roots[] = {
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
	uint8_t data[8][16], d[8][32], root[32], want[32];
	struct gate_error err = {0};
	for (size_t i = 0; i < 8; i++) {
		size_t n = strlen(leaves[i]) / 2;
		unhex(leaves[i], data[i], n);
		ref_leaf(data[i], n, d[i]);
	}
	for (size_t n = 1; n <= 8; n++) {
		ref_mth((const uint8_t(*)[32])d, n, root);
		unhex(roots[n - 1], want, 32);
		assert_memory_equal(root, want, 32);
	}
	uint8_t path[3][32];
	unhex("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", path[0], 32);
	unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", path[1], 32);
	unhex("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4", path[2], 32);
	assert_int_equal(
		gate_merkle_verify(data[0], 0, 0, 8, (const uint8_t(*)[32])path, 3, want, &err),
		GATE_OK);
	unhex("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", path[0], 32);
	unhex("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", path[1], 32);
	unhex("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", path[2], 32);
	assert_int_equal(gate_merkle_verify((const uint8_t *)"@ABC", 4, 5, 8,
					    (const uint8_t(*)[32])path, 3, want, &err),
			 GATE_OK);
}

static void merkle_must_fail(const char *body, uint64_t index, uint64_t size,
			     const uint8_t (*path)[32], size_t np, const uint8_t root[32],
			     const char *msg)
{
	struct gate_error err = {0};
	enum gate_err rc = gate_merkle_verify((const uint8_t *)body, strlen(body), index, size,
					      path, np, root, &err);
	if (rc != GATE_E_INCLUSION)
		print_message("index %" PRIu64 " size %" PRIu64 " np %zu passed\n", index, size,
			      np);
	expect_fail(rc, &err, GATE_E_INCLUSION, "S9", msg);
}

/* Every (index, size) up to 33 leaves, then every single mutation. */
static void check_tree(size_t n, char (*data)[16], const uint8_t (*d)[32])
{
	uint8_t root[32], root_next[32], path[GATE_MAX_PROOF_HASHES + 1][32];
	struct gate_error err = {0};
	ref_mth(d, n, root);
	ref_mth(d, n + 1, root_next);
	for (size_t m = 0; m < n; m++) {
		size_t np = ref_path(m, d, n, path);
		const uint8_t(*p)[32] = (const uint8_t(*)[32])path;
		assert_int_equal(gate_merkle_verify((const uint8_t *)data[m], strlen(data[m]), m, n,
						    p, np, root, &err),
				 GATE_OK);
		for (size_t j = 0; j < np; j++) {
			path[j][j % 32] ^= (uint8_t)(1u << (j % 8));
			merkle_must_fail(data[m], m, n, p, np, root, "does not lead to the root");
			path[j][j % 32] ^= (uint8_t)(1u << (j % 8));
		}
		uint8_t bad_root[32];
		memcpy(bad_root, root, 32);
		bad_root[31] ^= 0x80;
		merkle_must_fail(data[m], m, n, p, np, bad_root, "does not lead to the root");
		merkle_must_fail(data[m], m + 1, n, p, np, root, NULL);
		merkle_must_fail(data[m], m, n + 1, p, np, root_next, NULL);
		if (n > 1)
			merkle_must_fail(data[(m + 1) % n], m, n, p, np, root,
					 "does not lead to the root");
		/* The path length is checked on its own (S9's sn tests), not
		 * only through the root comparison. */
		if (np > 0)
			merkle_must_fail(data[m], m, n, p, np - 1, root, "too few");
		memcpy(path[np], d[m], 32);
		merkle_must_fail(data[m], m, n, p, np + 1, root, "more than");
	}
}

static void test_merkle_rfc6962_sizes(void **state)
{
	(void)state;
	char data[MAX_LEAVES][16];
	uint8_t d[MAX_LEAVES][32];
	for (size_t i = 0; i < MAX_LEAVES; i++) {
		snprintf(data[i], sizeof data[i], "leaf-%zu", i);
		ref_leaf(data[i], strlen(data[i]), d[i]);
	}
	for (size_t n = 1; n <= 33; n++)
		check_tree(n, data, (const uint8_t(*)[32])d);
}

static void test_merkle_bounds(void **state)
{
	(void)state;
	uint8_t root[32], path[GATE_MAX_PROOF_HASHES + 1][32];
	struct gate_error err = {0};
	memset(path, 0x11, sizeof path);
	ref_leaf("x", 1, root);
	/* Size 1, index 0: the leaf is the root. */
	assert_int_equal(gate_merkle_verify((const uint8_t *)"x", 1, 0, 1, NULL, 0, root, &err),
			 GATE_OK);
	expect_fail(gate_merkle_verify((const uint8_t *)"x", 1, 0, 0, NULL, 0, root, &err), &err,
		    GATE_E_INCLUSION, "S9", "not below tree size 0");
	expect_fail(gate_merkle_verify((const uint8_t *)"x", 1, 1, 1, NULL, 0, root, &err), &err,
		    GATE_E_INCLUSION, "S9", "leaf index 1 is not below tree size 1");
	expect_fail(gate_merkle_verify((const uint8_t *)"x", 1, UINT64_MAX, UINT64_MAX, NULL, 0,
				       root, &err),
		    &err, GATE_E_INCLUSION, "S9", NULL);
	expect_fail(gate_merkle_verify((const uint8_t *)"x", 1, 0, UINT64_MAX,
				       (const uint8_t(*)[32])path, GATE_MAX_PROOF_HASHES + 1, root,
				       &err),
		    &err, GATE_E_INCLUSION, "S9", "over the limit");
	/* 64 hashes is the most a 2^64-leaf tree needs: accepted by the cap,
	 * rejected by the root comparison. */
	expect_fail(gate_merkle_verify((const uint8_t *)"x", 1, 0, UINT64_MAX,
				       (const uint8_t(*)[32])path, GATE_MAX_PROOF_HASHES, root,
				       &err),
		    &err, GATE_E_INCLUSION, "S9", "does not lead to the root hash");
}

/* ------------------------------------------------------------------ */
/* S8 with throwaway keys                                             */

struct env {
	EVP_PKEY *priv;
	struct gate_log log;
	uint8_t root[32];
	char *root_b64;
};

static size_t sign_msg(EVP_PKEY *k, const void *msg, size_t len, uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	size_t siglen = cap;
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, len), 1);
	EVP_MD_CTX_free(ctx);
	return siglen;
}

/* logId per spec §2 / S8: Ed25519 = SHA-256(name || 0x0A || 0x01 || raw),
 * ECDSA = SHA-256(SPKI). RSA logs get the S8 RSA key-ID rule, and their
 * logId is SHA-256(SPKI) like any PKIX key. */
static void env_log_id(struct env *v, const uint8_t *spki, size_t spki_len)
{
	if (EVP_PKEY_get_base_id(v->priv) == EVP_PKEY_ED25519) {
		uint8_t buf[64];
		size_t rawlen = 32, nl = strlen(v->log.key_name);
		memcpy(buf, v->log.key_name, nl);
		buf[nl] = 0x0A;
		buf[nl + 1] = 0x01;
		assert_int_equal(EVP_PKEY_get_raw_public_key(v->priv, buf + nl + 2, &rawlen), 1);
		assert_int_equal(rawlen, 32);
		sha256_buf(buf, nl + 2 + 32, v->log.log_id);
	} else {
		sha256_buf(spki, spki_len, v->log.log_id);
	}
}

static struct env *env_new(EVP_PKEY *priv)
{
	struct env *v = calloc(1, sizeof(*v));
	struct gate_error err = {0};
	unsigned char *spki = NULL;
	assert_non_null(v);
	assert_non_null(priv);
	v->priv = priv;
	/* The verifier only ever sees the public half, as from a trusted root. */
	int n = i2d_PUBKEY(priv, &spki);
	assert_true(n > 0);
	assert_int_equal(gate_pubkey_parse(spki, (size_t)n, &v->log.key, &err), GATE_OK);
	v->log.base_url = strdup("https://log.example");
	v->log.key_name = strdup("log.example");
	assert_non_null(v->log.key_name);
	env_log_id(v, spki, (size_t)n);
	OPENSSL_free(spki);
	sha256_buf("root", 4, v->root);
	v->root_b64 = b64_enc(v->root, 32);
	return v;
}

static int setup_ed25519(void **state)
{
	*state = env_new(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	return 0;
}

static int setup_ecdsa(void **state)
{
	*state = env_new(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	return 0;
}

static int setup_rsa(void **state)
{
	*state = env_new(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	return 0;
}

static int teardown_env(void **state)
{
	struct env *v = *state;
	EVP_PKEY_free(v->priv);
	gate_pubkey_free(v->log.key);
	free(v->log.base_url);
	free(v->log.key_name);
	free(v->root_b64);
	free(v);
	return 0;
}

/* "— <name> <base64(id || sig over text)>\n" */
static char *sig_line_by(EVP_PKEY *k, const char *name, const uint8_t id[4], const char *text)
{
	uint8_t buf[4 + 512];
	memcpy(buf, id, 4);
	size_t n = sign_msg(k, text, strlen(text), buf + 4, sizeof(buf) - 4);
	char *b = b64_enc(buf, 4 + n);
	char *line = cat("\xE2\x80\x94 ", name, " ", b, "\n", NULL);
	free(b);
	return line;
}

static char *log_line(struct env *v, const char *text)
{
	return sig_line_by(v->priv, v->log.key_name, v->log.log_id, text);
}

/* origin, size, root and extension lines, each ending in '\n'. */
static char *text_of(struct env *v, const char *size, const char *extra)
{
	return cat("log.example\n", size, "\n", v->root_b64, "\n", extra ? extra : "", NULL);
}

/* text, blank line, signature lines (log's own between before and after). */
static char *note_of(struct env *v, const char *text, const char *before, const char *after)
{
	char *line = log_line(v, text);
	char *note = cat(text, "\n", before ? before : "", line, after ? after : "", NULL);
	free(line);
	return note;
}

static enum gate_err check(struct env *v, const char *note, uint64_t size, struct gate_error *err)
{
	return gate_checkpoint_verify(note, strlen(note), &v->log, size, v->root, err);
}

static void test_note_good(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	char *text = text_of(v, "12", NULL);
	char *note = note_of(v, text, NULL, NULL);
	assert_int_equal(check(v, note, 12, &err), GATE_OK);
	free(text);
	free(note);
	/* Rekor v1 style: origin is not the key name, extension line. */
	text = cat("log.example - 1234\n12\n", v->root_b64, "\nTimestamp: 1\n", NULL);
	note = note_of(v, text, NULL, NULL);
	assert_int_equal(check(v, note, 12, &err), GATE_OK);
	free(text);
	free(note);
}

static void test_note_size_max(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	char *text = text_of(v, "18446744073709551615", NULL);
	char *note = note_of(v, text, NULL, NULL);
	assert_int_equal(check(v, note, UINT64_MAX, &err), GATE_OK);
	free(text);
	free(note);
}

/* A validly signed text whose shape is wrong must still be rejected. */
static void expect_signed_text_fails(struct env *v, const char *text, const char *msg)
{
	struct gate_error err = {0};
	char *note = note_of(v, text, NULL, NULL);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8", msg);
	free(note);
}

static void test_note_bad_size(void **state)
{
	struct env *v = *state;
	static const char *const bad[] = {"12x",
					  "+12",
					  "012",
					  " 12",
					  "-1",
					  "1 2",
					  "18446744073709551616",
					  "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = text_of(v, bad[i], NULL);
		expect_signed_text_fails(v, text, "is not a decimal number");
		free(text);
	}
	char *text = cat("log.example\n\n", v->root_b64, "\n", NULL);
	expect_signed_text_fails(v, text, "missing tree size line");
	free(text);
}

static void test_note_bad_root(void **state)
{
	struct env *v = *state;
	char *b31 = b64_enc(v->root, 31), *b33 = NULL;
	uint8_t r33[33] = {0};
	memcpy(r33, v->root, 32);
	b33 = b64_enc(r33, 33);
	const char *bad[] = {"!!!!", "not base64", b31, b33, "AAAA AAAA", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = cat("log.example\n12\n", bad[i], "\n", NULL);
		expect_signed_text_fails(
			v, text, i == 5 ? "missing root hash line" : "is not base64 of 32 bytes");
		free(text);
	}
	char *text = cat("log.example\n12\n", NULL);
	expect_signed_text_fails(v, text, "missing root hash line");
	free(text);
	free(b31);
	free(b33);
}

static void test_note_missing_origin(void **state)
{
	struct env *v = *state;
	char *text = cat("\n12\n", v->root_b64, "\n", NULL);
	expect_signed_text_fails(v, text, "missing origin line");
	free(text);
}

static void test_note_empty_extension(void **state)
{
	struct env *v = *state;
	char *text = text_of(v, "12", "a\n\nb\n");
	expect_signed_text_fails(v, text, "empty extension line");
	free(text);
}

static void test_note_no_blank_line(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	char *text = text_of(v, "12", NULL);
	char *line = log_line(v, text);
	char *note = cat(text, line, NULL);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8", "no blank line");
	free(text);
	free(line);
	free(note);
}

/* The signed message is the text including its final newline (C2SP). */
static void test_note_signed_bytes(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	char *text = text_of(v, "12", NULL);
	text[strlen(text) - 1] = '\0';
	char *line = log_line(v, text);
	char *note = cat(text, "\n\n", line, NULL);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8", "does not verify");
	free(text);
	free(line);
	free(note);
}

/* Only lines from other signers: ignored, so nothing verified. */
static void test_note_only_other_keys(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t other_id[4] = {0xde, 0xad, 0xbe, 0xef};
	assert_non_null(other);
	char *text = text_of(v, "12", NULL);
	/* same name, another key ID (a rotated key); and a witness */
	char *l1 = sig_line_by(other, "log.example", other_id, text);
	char *l2 = sig_line_by(other, "witness.example", v->log.log_id, text);
	char *l3 = sig_line_by(v->priv, "log.example.evil", v->log.log_id, text);
	char *note = cat(text, "\n", l1, l2, l3, NULL);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "no signature line from log.example verified");
	free(note);
	/* ... and skipped when the log's own line is there, in any position. */
	note = note_of(v, text, l1, l2);
	assert_int_equal(check(v, note, 12, &err), GATE_OK);
	free(note);
	char *both = cat(l1, l2, l3, NULL);
	note = note_of(v, text, both, NULL);
	assert_int_equal(check(v, note, 12, &err), GATE_OK);
	free(note);
	free(both);
	free(text);
	free(l1);
	free(l2);
	free(l3);
	EVP_PKEY_free(other);
}

/* A line that claims the log's name and key ID must verify, even when
 * another good line is present. */
static void test_note_bad_matching_sig(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(other);
	char *text = text_of(v, "12", NULL);
	char *forged = sig_line_by(other, "log.example", v->log.log_id, text);
	char *note = note_of(v, text, NULL, forged);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "signature line 2 from log.example does not verify");
	free(note);
	note = note_of(v, text, forged, NULL);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "signature line 1 from log.example does not verify");
	free(note);
	/* One flipped signature byte on the only line. */
	note = note_of(v, text, NULL, NULL);
	char *sig = strrchr(note, ' ') + 10;
	*sig = *sig == 'A' ? 'B' : 'A';
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8", "does not verify");
	free(note);
	free(forged);
	free(text);
	EVP_PKEY_free(other);
}

static void test_note_malformed_sig_lines(void **state)
{
	struct env *v = *state;
	static const char *const bad[] = {"garbage\n",
					  "- log.example AAAAAAAA\n",
					  "\xE2\x80\x94 log.example\n",
					  "\xE2\x80\x94  AAAAAAAA\n",
					  "\xE2\x80\x94 w.example AAAA\n",
					  "\xE2\x80\x94 w.example AAAAAA==\n",
					  "\xE2\x80\x94 w.example not-base64!\n"};
	static const char *const msg[] = {"em dash",	    "em dash",	  "not a key name",
					  "not a key name", "not base64", "not base64",
					  "not base64"};
	char *text = text_of(v, "12", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gate_error err = {0};
		char *note = note_of(v, text, NULL, bad[i]);
		expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8", msg[i]);
		free(note);
	}
	free(text);
}

static void test_note_trailing_newline(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	char *text = text_of(v, "12", NULL);
	char *note = note_of(v, text, NULL, NULL);
	note[strlen(note) - 1] = '\0';
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "does not end with a newline");
	free(note);
	/* Text and blank line only: no signature at all. */
	note = cat(text, "\n", NULL);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "no signature line from log.example verified");
	free(note);
	/* A blank line among the signatures moves the split (LAST "\n\n"):
	 * the first signature line becomes text after an empty line. */
	char *line = log_line(v, text);
	note = cat(text, "\n", line, "\n", line, NULL);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "empty extension line");
	free(note);
	free(line);
	free(text);
}

static void test_note_control_chars(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	char *text = text_of(v, "12", "a\tb\n");
	char *note = note_of(v, text, NULL, NULL);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8", "control character");
	free(note);
	free(text);
	/* An embedded NUL: the length, not strlen, bounds the note. */
	text = text_of(v, "12", NULL);
	note = note_of(v, text, NULL, NULL);
	size_t len = strlen(note);
	note[3] = '\0';
	expect_fail(gate_checkpoint_verify(note, len, &v->log, 12, v->root, &err), &err,
		    GATE_E_CHECKPOINT, "S8", "control character");
	free(note);
	free(text);
}

static void test_note_size_cap(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	/* Ed25519 signatures have a fixed size, so the note length is exact. */
	char *text = text_of(v, "12", "x\n");
	char *note = note_of(v, text, NULL, NULL);
	size_t base = strlen(note);
	free(note);
	free(text);
	assert_true(base < GATE_MAX_CHECKPOINT);
	size_t pad = GATE_MAX_CHECKPOINT - base + 1; /* one 'x' already there */
	char *ext = malloc(pad + 2);
	assert_non_null(ext);
	memset(ext, 'x', pad);
	ext[pad] = '\n';
	ext[pad + 1] = '\0';
	text = text_of(v, "12", ext);
	note = note_of(v, text, NULL, NULL);
	assert_int_equal(strlen(note), GATE_MAX_CHECKPOINT);
	assert_int_equal(check(v, note, 12, &err), GATE_OK);
	free(note);
	free(text);
	ext[pad] = 'x';
	ext[pad + 1] = '\n';
	ext = realloc(ext, pad + 3);
	assert_non_null(ext);
	ext[pad + 2] = '\0';
	text = text_of(v, "12", ext);
	note = note_of(v, text, NULL, NULL);
	assert_int_equal(strlen(note), GATE_MAX_CHECKPOINT + 1);
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "over the 16384-byte limit");
	free(note);
	free(text);
	free(ext);
}

/* Unknown signers are skipped, but not without bound. */
static void test_note_sig_count_cap(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	static const char witness[] = "\xE2\x80\x94 w.example AAAAAAAA\n";
	size_t wlen = sizeof(witness) - 1;
	char *many = malloc(100 * wlen + 1);
	assert_non_null(many);
	for (size_t i = 0; i < 100; i++)
		memcpy(many + i * wlen, witness, wlen);
	many[99 * wlen] = '\0';
	char *text = text_of(v, "12", NULL);
	char *note = note_of(v, text, many, NULL); /* 99 + 1 lines */
	assert_int_equal(check(v, note, 12, &err), GATE_OK);
	free(note);
	memcpy(many + 99 * wlen, witness, wlen);
	many[100 * wlen] = '\0';
	note = note_of(v, text, many, NULL); /* 100 + 1 lines */
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "more than 100 signature lines");
	free(note);
	free(text);
	free(many);
}

static void test_note_binding(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	char *text = text_of(v, "12", NULL);
	char *note = note_of(v, text, NULL, NULL);
	expect_fail(check(v, note, 13, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "tree size 12 does not match inclusion proof tree size 13");
	expect_fail(check(v, note, 11, &err), &err, GATE_E_CHECKPOINT, "S8", "does not match");
	uint8_t other[32];
	memcpy(other, v->root, 32);
	other[0] ^= 1;
	expect_fail(gate_checkpoint_verify(note, strlen(note), &v->log, 12, other, &err), &err,
		    GATE_E_CHECKPOINT, "S8", "root hash does not match");
	free(note);
	free(text);
}

static void test_note_no_key(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	char *text = text_of(v, "12", NULL);
	char *note = note_of(v, text, NULL, NULL);
	struct gate_log keyless = v->log;
	keyless.key = NULL;
	expect_fail(gate_checkpoint_verify(note, strlen(note), &keyless, 12, v->root, &err), &err,
		    GATE_E_CHECKPOINT, "S8", "no usable key");
	free(note);
	free(text);
}

/* RSA logs: key ID = SHA-256(name || 0x0A || 0xFF || "PKIX-RSA-PKCS#1v1.5"
 * || SPKI)[:4], not logId[:4]. */
static void test_note_rsa_key_id(void **state)
{
	struct env *v = *state;
	struct gate_error err = {0};
	static const char tag[] = "PKIX-RSA-PKCS#1v1.5";
	assert_int_equal(v->log.key->alg, GATE_ALG_RSA_PKCS1_SHA256);
	size_t nl = strlen(v->log.key_name), len = nl + 2 + strlen(tag) + v->log.key->spki_len;
	uint8_t *buf = malloc(len), id[32];
	assert_non_null(buf);
	memcpy(buf, v->log.key_name, nl);
	buf[nl] = 0x0A;
	buf[nl + 1] = 0xFF;
	memcpy(buf + nl + 2, tag, strlen(tag));
	memcpy(buf + nl + 2 + strlen(tag), v->log.key->spki, v->log.key->spki_len);
	sha256_buf(buf, len, id);
	free(buf);
	assert_memory_not_equal(id, v->log.log_id, 4);
	char *text = text_of(v, "12", NULL);
	char *good = sig_line_by(v->priv, "log.example", id, text);
	char *note = cat(text, "\n", good, NULL);
	assert_int_equal(check(v, note, 12, &err), GATE_OK);
	free(note);
	note = note_of(v, text, NULL, NULL); /* logId[:4]: not the log's key ID */
	expect_fail(check(v, note, 12, &err), &err, GATE_E_CHECKPOINT, "S8",
		    "no signature line from log.example verified");
	free(note);
	free(good);
	free(text);
}

/* ------------------------------------------------------------------ */
/* S7 canonical payload                                               */

struct set_env {
	struct env *v;
	struct gate_tlog_entry e;
	char expected[256];
};

static void set_init(struct set_env *s, struct env *v, const char *payload_fmt)
{
	char hex[65];
	uint8_t sig[512];
	memset(s, 0, sizeof(*s));
	s->v = v;
	s->e.log_index = 42;
	memcpy(s->e.log_id, v->log.log_id, 32);
	s->e.has_integrated_time = true;
	s->e.integrated_time = 1700000000;
	s->e.body_b64 = strdup("eyJhIjoxfQ==");
	assert_non_null(s->e.body_b64);
	hex_to(v->log.log_id, 32, hex);
	/* payload_fmt holds one LOGID placeholder (no printf: -Wformat=2). */
	const char *at = strstr(payload_fmt, "LOGID");
	assert_non_null(at);
	snprintf(s->expected, sizeof s->expected, "%.*s%s%s", (int)(at - payload_fmt), payload_fmt,
		 hex, at + 5);
	size_t n = sign_msg(v->priv, s->expected, strlen(s->expected), sig, sizeof sig);
	s->e.set = malloc(n);
	assert_non_null(s->e.set);
	memcpy(s->e.set, sig, n);
	s->e.set_len = n;
}

static void set_free(struct set_env *s)
{
	free(s->e.set);
	free(s->e.body_b64);
}

static const char set_fmt[] = "{\"body\":\"eyJhIjoxfQ==\",\"integratedTime\":1700000000,"
			      "\"logID\":\"LOGID\",\"logIndex\":42}";

static void test_set_payload(void **state)
{
	struct env *v = *state;
	struct set_env s;
	struct gate_error err = {0};
	set_init(&s, v, set_fmt);
	assert_int_equal(gate_set_verify(&s.e, &v->log, &err), GATE_OK);
	s.e.integrated_time++;
	expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
		    "does not verify");
	s.e.integrated_time--;
	s.e.log_index = 43;
	expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
		    "does not verify");
	s.e.log_index = 42;
	s.e.log_id[31] ^= 1;
	expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
		    "does not verify");
	s.e.log_id[31] ^= 1;
	s.e.set[s.e.set_len - 1] ^= 1;
	expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
		    "does not verify");
	set_free(&s);
}

/* Only the exact canonical bytes verify: not a spaced or reordered form. */
static void test_set_not_canonical(void **state)
{
	struct env *v = *state;
	static const char *const fmts[] = {
		"{\"body\": \"eyJhIjoxfQ==\", \"integratedTime\": 1700000000, \"logID\": \"LOGID\", "
		"\"logIndex\": 42}",
		"{\"logIndex\":42,\"logID\":\"LOGID\",\"integratedTime\":1700000000,"
		"\"body\":\"eyJhIjoxfQ==\"}",
		"{\"body\":\"eyJhIjoxfQ==\",\"integratedTime\":\"1700000000\",\"logID\":\"LOGID\","
		"\"logIndex\":42}",
	};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct set_env s;
		struct gate_error err = {0};
		set_init(&s, v, fmts[i]);
		expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
			    "does not verify");
		set_free(&s);
	}
}

static void test_set_validity(void **state)
{
	struct env *v = *state;
	struct set_env s;
	struct gate_error err = {0};
	struct gate_log log = v->log;
	set_init(&s, v, set_fmt);
	log.valid.start = s.e.integrated_time + 1;
	expect_fail(gate_set_verify(&s.e, &log, &err), &err, GATE_E_TLOG, "S7",
		    "outside the validity");
	log.valid.start = s.e.integrated_time; /* closed interval */
	assert_int_equal(gate_set_verify(&s.e, &log, &err), GATE_OK);
	log.valid.has_end = true;
	log.valid.end = s.e.integrated_time;
	assert_int_equal(gate_set_verify(&s.e, &log, &err), GATE_OK);
	log.valid.end = s.e.integrated_time - 1;
	expect_fail(gate_set_verify(&s.e, &log, &err), &err, GATE_E_TLOG, "S7",
		    "outside the validity");
	set_free(&s);
}

static void test_set_missing_parts(void **state)
{
	struct env *v = *state;
	struct set_env s;
	struct gate_error err = {0};
	struct gate_log keyless = v->log;
	set_init(&s, v, set_fmt);
	keyless.key = NULL;
	expect_fail(gate_set_verify(&s.e, &keyless, &err), &err, GATE_E_TLOG, "S7",
		    "no usable key");
	s.e.has_integrated_time = false;
	expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
		    "needs an integratedTime");
	s.e.has_integrated_time = true;
	s.e.set_len = 0;
	expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
		    "no signedEntryTimestamp");
	uint8_t *set = s.e.set;
	s.e.set = NULL;
	expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
		    "no signedEntryTimestamp");
	s.e.set = set;
	set_free(&s);
}

/* The body is pasted into JSON unescaped: anything but base64 text would
 * let a crafted body change the signed structure. */
static void test_set_body_not_base64(void **state)
{
	struct env *v = *state;
	static const char *const bodies[] = {"", "ab\"c", "ab\\c", "ab c", "ab\nc", "ab}c"};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct set_env s;
		struct gate_error err = {0};
		set_init(&s, v, set_fmt);
		free(s.e.body_b64);
		s.e.body_b64 = strdup(bodies[i]);
		assert_non_null(s.e.body_b64);
		expect_fail(gate_set_verify(&s.e, &v->log, &err), &err, GATE_E_TLOG, "S7",
			    "not base64 text");
		set_free(&s);
	}
}

#define ENV_TEST(f, setup) cmocka_unit_test_setup_teardown(f, setup, teardown_env)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v03_set),
		cmocka_unit_test(test_v03_checkpoint),
		cmocka_unit_test(test_v03_merkle),
		cmocka_unit_test(test_v01_all),
		cmocka_unit_test(test_rekor2_happy),
		cmocka_unit_test_prestate(test_conf_checkpoint_passes,
					  "rekor2-checkpoint-cosigned"),
		cmocka_unit_test_prestate(test_conf_checkpoint_passes,
					  "rekor2-checkpoint-multiple-cosigs"),
		cmocka_unit_test_prestate(test_conf_checkpoint_passes,
					  "rekor2-checkpoint-origin-not-first"),
		cmocka_unit_test_prestate(test_conf_checkpoint_passes,
					  "rekor2-checkpoint-two-sigs-cosigned"),
		cmocka_unit_test_prestate(test_conf_checkpoint_passes,
					  "rekor2-checkpoint-two-sigs-from-origin"),
		cmocka_unit_test_prestate(test_conf_checkpoint_fails, &ck_fail[0]),
		cmocka_unit_test_prestate(test_conf_checkpoint_fails, &ck_fail[1]),
		cmocka_unit_test_prestate(test_conf_checkpoint_fails, &ck_fail[2]),
		cmocka_unit_test_prestate(test_conf_checkpoint_fails, &ck_fail[3]),
		cmocka_unit_test_prestate(test_conf_checkpoint_fails, &ck_fail[4]),
		cmocka_unit_test_prestate(test_conf_checkpoint_fails, &ck_fail[5]),
		cmocka_unit_test_prestate(test_conf_checkpoint_fails, &ck_fail[6]),
		cmocka_unit_test_prestate(test_conf_checkpoint_fails, &ck_fail[7]),
		cmocka_unit_test(test_conf_wrong_root_only),
		cmocka_unit_test(test_conf_corrupted_hash),
		cmocka_unit_test(test_conf_set_invalid),
		cmocka_unit_test(test_conf_validity_end_inclusive),
		cmocka_unit_test(test_merkle_ct_vectors),
		cmocka_unit_test(test_merkle_rfc6962_sizes),
		cmocka_unit_test(test_merkle_bounds),
		ENV_TEST(test_note_good, setup_ed25519),
		ENV_TEST(test_note_good, setup_ecdsa),
		ENV_TEST(test_note_size_max, setup_ed25519),
		ENV_TEST(test_note_bad_size, setup_ed25519),
		ENV_TEST(test_note_bad_root, setup_ed25519),
		ENV_TEST(test_note_missing_origin, setup_ed25519),
		ENV_TEST(test_note_empty_extension, setup_ed25519),
		ENV_TEST(test_note_no_blank_line, setup_ed25519),
		ENV_TEST(test_note_signed_bytes, setup_ed25519),
		ENV_TEST(test_note_signed_bytes, setup_ecdsa),
		ENV_TEST(test_note_only_other_keys, setup_ed25519),
		ENV_TEST(test_note_only_other_keys, setup_ecdsa),
		ENV_TEST(test_note_bad_matching_sig, setup_ed25519),
		ENV_TEST(test_note_bad_matching_sig, setup_ecdsa),
		ENV_TEST(test_note_malformed_sig_lines, setup_ed25519),
		ENV_TEST(test_note_trailing_newline, setup_ed25519),
		ENV_TEST(test_note_control_chars, setup_ed25519),
		ENV_TEST(test_note_size_cap, setup_ed25519),
		ENV_TEST(test_note_sig_count_cap, setup_ed25519),
		ENV_TEST(test_note_binding, setup_ed25519),
		ENV_TEST(test_note_binding, setup_ecdsa),
		ENV_TEST(test_note_no_key, setup_ed25519),
		ENV_TEST(test_note_rsa_key_id, setup_rsa),
		ENV_TEST(test_set_payload, setup_ecdsa),
		ENV_TEST(test_set_not_canonical, setup_ecdsa),
		ENV_TEST(test_set_validity, setup_ecdsa),
		ENV_TEST(test_set_missing_parts, setup_ecdsa),
		ENV_TEST(test_set_body_not_base64, setup_ecdsa),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
