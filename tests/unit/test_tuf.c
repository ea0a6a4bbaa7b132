/* test_tuf.c - verify/tuf/tuf_*.c (spec/TUF.md): canonical JSON vectors (§2),
 * keyids and key types on the real Sigstore roots (§3), thresholds over
 * distinct keys with duplicate keys and signatures (§3), the Sigstore root
 * chain v1..v15 verified version by version (T1, T2) and its expiry (T3),
 * malformed metadata (§1), path patterns and hash bins (T22, T23), quoting,
 * and the whole client workflow over a file:// repository built here with
 * fresh ed25519 keys (T1-T25, offline lookups, rollback, freeze,
 * mix-and-match, fast-forward recovery). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROOT_HISTORY GATE_SHARED_DIR "/tuf/sigstore-production/metadata/root_history/"
/* 2026-08-25T00:00:00Z: inside root v15's validity. */
#define REF_TIME 1787616000
/* Root v15's "expires": 2026-11-20T13:58:18Z. */
#define ROOT15_EXPIRES 1795183098

/* ------------------------------------------------------------------ */
/* helpers                                                            */

/* noinline: GCC 12 reports a false -Wdangling-pointer in Release when this is
 * inlined into a caller that strstr()s the result. */
__attribute__((noinline)) static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *buf = NULL;
	struct gate_error err = {0};
	if (gate_read_file(path, 16u << 20, &buf, len, &err) != GATE_OK)
		print_message("cannot read %s: %s\n", path, err.msg);
	assert_non_null(buf);
	return buf;
}

static uint8_t *root_file(int n, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, ROOT_HISTORY "%d.root.json", n);
	return slurp(path, len);
}

static void expect_rc(enum gate_err rc, const struct gate_error *err, enum gate_err want,
		      const char *what)
{
	if (rc != want)
		print_message("%s: got %d (%s: %s: %s [%s]), want %d\n", what, (int)rc,
			      gate_err_str(rc), err->field, err->msg, err->rule, (int)want);
	assert_int_equal(rc, want);
}

static void canon_is(const char *json, const char *want, size_t wantlen)
{
	json_error_t je;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
	uint8_t *out = NULL;
	size_t len = 0;
	struct gate_error err = {0};
	assert_non_null(v);
	expect_rc(gate_tuf_canonical(v, 1 << 20, &out, &len, &err), &err, GATE_OK, json);
	if (len != wantlen || memcmp(out, want, len) != 0)
		print_message("canonical of %s: got '%.*s'\n", json, (int)len, (const char *)out);
	assert_int_equal(len, wantlen);
	assert_memory_equal(out, want, len);
	free(out);
	json_decref(v);
}

#define CANON_IS(json, want) canon_is(json, want, sizeof(want) - 1)

static enum gate_err parse_type(const char *json, enum gate_tuf_type t, struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_md_parse_load((const uint8_t *)json, strlen(json), t, &md, err);
	gate_tuf_md_free(md);
	return rc;
}

/* ------------------------------------------------------------------ */
/* canonical JSON (§2)                                                */

static void test_canonical_vectors(void **state)
{
	(void)state;
	/* Sorted keys, no whitespace, arrays keep order. */
	CANON_IS("{\"b\": 1, \"a\": [3, 1, 2], \"c\": {\"z\": {}, \"y\": []}}",
		 "{\"a\":[3,1,2],\"b\":1,\"c\":{\"y\":[],\"z\":{}}}");
	/* Only '"' and '\' are escaped. */
	CANON_IS("{\"s\": \"q\\\"b\\\\e\"}", "{\"s\":\"q\\\"b\\\\e\"}");
	/* Control characters and '/' are written raw. */
	CANON_IS("{\"s\": \"\\u0001\\n\\t\\/\"}", "{\"s\":\"\x01\n\t/\"}");
	/* Non-ASCII raw UTF-8; \uXXXX surrogate pairs decoded. */
	CANON_IS("{\"e\": \"\\u00e9\", \"f\": \"\\ud83d\\ude00\"}",
		 "{\"e\":\"\xc3\xa9\",\"f\":\"\xf0\x9f\x98\x80\"}");
	/* Keys sorted by UTF-8 bytes = code points: "B" < "_" < "a" < "aa" < "é". */
	CANON_IS("{\"\\u00e9\": 0, \"aa\": 1, \"a\": 2, \"_\": 3, \"B\": 4}",
		 "{\"B\":4,\"_\":3,\"a\":2,\"aa\":1,\"\xc3\xa9\":0}");
	/* Integers plain, 64-bit exact; literals. */
	CANON_IS("{\"n\": [-5, 0, 9223372036854775807, -9223372036854775808]}",
		 "{\"n\":[-5,0,9223372036854775807,-9223372036854775808]}");
	CANON_IS("[true, false, null, \"\"]", "[true,false,null,\"\"]");
}

static void test_canonical_rejects_floats_and_caps(void **state)
{
	(void)state;
	const char *floats[] = {"{\"a\": 1.0}", "{\"a\": [1e3]}", "{\"a\": {\"b\": -0.5}}"};
	for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
		json_t *v = json_loads(floats[i], 0, NULL);
		uint8_t *out = NULL;
		size_t len = 0;
		struct gate_error err = {0};
		assert_non_null(v);
		expect_rc(gate_tuf_canonical(v, 1 << 20, &out, &len, &err), &err, GATE_E_PARSE,
			  floats[i]);
		assert_null(out);
		json_decref(v);
	}
	/* The output cap holds. */
	json_t *v = json_loads("{\"a\": \"0123456789\"}", 0, NULL);
	uint8_t *out = NULL;
	size_t len = 0;
	struct gate_error err = {0};
	expect_rc(gate_tuf_canonical(v, 10, &out, &len, &err), &err, GATE_E_TOO_LARGE, "cap");
	expect_rc(gate_tuf_canonical(v, 18, &out, &len, &err), &err, GATE_OK, "exact cap");
	assert_int_equal(len, 18);
	free(out);
	json_decref(v);
	/* A float in a signed document makes the file invalid. */
	expect_rc(parse_type("{\"signed\":{\"_type\":\"timestamp\",\"x\":1.5},\"signatures\":[]}",
			     GATE_TUF_TIMESTAMP, &err),
		  &err, GATE_E_PARSE, "float in signed");
}

/* ------------------------------------------------------------------ */
/* keyids and key types on the real Sigstore roots (§3)               */

static void test_sigstore_keyids(void **state)
{
	(void)state;
	int mismatches = 0;
	for (int n = 1; n <= 15; n++) {
		size_t len = 0;
		uint8_t *buf = root_file(n, &len);
		struct gate_tuf_md *md = NULL;
		struct gate_error err = {0};
		expect_rc(gate_tuf_md_parse_load(buf, len, GATE_TUF_ROOT, &md, &err), &err, GATE_OK,
			  "sigstore root");
		assert_true(md->keys.n > 0);
		for (size_t i = 0; i < md->keys.n; i++) {
			const struct gate_tuf_key *k = &md->keys.v[i];
			char id[65];
			json_t *kobj =
				json_object_get(json_object_get(md->signed_obj, "keys"), k->keyid);
			expect_rc(gate_tuf_keyid(kobj, id, &err), &err, GATE_OK, "keyid");
			assert_int_equal(strcmp(id, k->keyid) == 0, k->id_matches);
			/* Every key decodes: hex points in v1-v4, PEM later. */
			assert_non_null(k->pk);
			assert_int_equal(k->alg, GATE_ALG_ECDSA_P256_SHA256);
			if (!k->id_matches) {
				/* Spec §3: the one known case, root v11. */
				assert_int_equal(n, 11);
				assert_string_equal(k->keyid,
						    "7247f0dbad85b147e1863bade761243cc785dcb"
						    "7aa410e7105dd3d2b61a36d2c");
				assert_string_equal(id, "0c87432c3bf09fd99189fdc32fa5eaedf4e4a5fac7"
							"bab73fa04a2e0fc64af6f5");
				mismatches++;
			}
		}
		assert_true(md->consistent_snapshot == (n >= 5));
		assert_int_equal(md->version, n);
		gate_tuf_md_free(md);
		free(buf);
	}
	assert_int_equal(mismatches, 1);
}

/* ------------------------------------------------------------------ */
/* the Sigstore root chain (T1, T2, T3)                               */

static void test_sigstore_root_chain(void **state)
{
	(void)state;
	size_t len = 0;
	struct gate_error err = {0};
	struct gate_tuf_md *trusted = NULL;
	uint8_t *buf = root_file(1, &len);
	expect_rc(gate_tuf_root_load(buf, len, &trusted, &err), &err, GATE_OK, "root v1");
	free(buf);
	for (int n = 2; n <= 15; n++) {
		struct gate_tuf_md *next = NULL;
		buf = root_file(n, &len);
		expect_rc(gate_tuf_root_update(trusted, buf, len, &next, &err), &err, GATE_OK,
			  "root rotation");
		assert_int_equal(next->version, n);
		/* Intermediate roots are long expired: ignored (T2). */
		if (n < 13)
			assert_true(gate_tuf_expired(next, REF_TIME));
		gate_tuf_md_free(trusted);
		trusted = next;
		free(buf);
	}
	/* T3 at the fixed reference time, and at the real current time. */
	assert_int_equal(trusted->expires, ROOT15_EXPIRES);
	assert_false(gate_tuf_expired(trusted, REF_TIME));
	int64_t now = (int64_t)time(NULL);
	assert_int_equal(gate_tuf_expired(trusted, now), now >= ROOT15_EXPIRES);
	assert_true(gate_tuf_expired(trusted, now)); /* the clock is past 2026-11-20 */
	assert_true(gate_tuf_expired(trusted, ROOT15_EXPIRES));
	assert_false(gate_tuf_expired(trusted, ROOT15_EXPIRES - 1));
	gate_tuf_md_free(trusted);
}

static void test_sigstore_root_chain_must_fail(void **state)
{
	(void)state;
	size_t len1 = 0, len = 0;
	struct gate_error err = {0};
	struct gate_tuf_md *v5 = NULL, *next = NULL;
	uint8_t *b5 = root_file(5, &len1);
	expect_rc(gate_tuf_root_load(b5, len1, &v5, &err), &err, GATE_OK, "root v5");
	/* Skipping a version, or replaying the same one (T2). */
	uint8_t *buf = root_file(7, &len);
	expect_rc(gate_tuf_root_update(v5, buf, len, &next, &err), &err, GATE_E_MISMATCH, "v5->v7");
	assert_string_equal(err.rule, "T2");
	free(buf);
	expect_rc(gate_tuf_root_update(v5, b5, len1, &next, &err), &err, GATE_E_MISMATCH, "v5->v5");
	/* One byte changed in v6's signed part: the threshold is lost. */
	size_t len6 = 0;
	uint8_t *b6 = root_file(6, &len6);
	char *exp6 = strstr((char *)b6, "\"expires\": \"2023-08-28");
	assert_non_null(exp6);
	exp6[14] = '4';
	expect_rc(gate_tuf_root_update(v5, b6, len6, &next, &err), &err, GATE_E_SIGNATURE,
		  "v6 changed");
	assert_null(next);
	free(b6);
	/* A timestamp is not a root: _type checked first. */
	static const char ts[] = "{\"signed\":{\"_type\":\"timestamp\"},\"signatures\":[]}";
	expect_rc(gate_tuf_root_update(v5, (const uint8_t *)ts, strlen(ts), &next, &err), &err,
		  GATE_E_MISMATCH, "wrong _type");
	/* The initial root must carry its own threshold: strip signatures. */
	json_t *doc = json_loadb((const char *)b5, len1, 0, NULL);
	json_array_clear(json_object_get(doc, "signatures"));
	char *s = json_dumps(doc, 0);
	struct gate_tuf_md *bad = NULL;
	expect_rc(gate_tuf_root_load((const uint8_t *)s, strlen(s), &bad, &err), &err,
		  GATE_E_SIGNATURE, "unsigned root");
	assert_string_equal(err.rule, "T1");
	free(s);
	json_decref(doc);
	free(b5);
	gate_tuf_md_free(v5);
}

/* ------------------------------------------------------------------ */
/* synthetic metadata signed with fresh keys                          */

struct tkey {
	EVP_PKEY *priv;
	json_t *pub; /* the KEY object */
	char id[65];
};

static void tkey_new(struct tkey *k)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	uint8_t raw[32];
	size_t rlen = sizeof raw;
	char hex[65];
	struct gate_error err = {0};
	k->priv = NULL;
	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &k->priv), 1);
	EVP_PKEY_CTX_free(c);
	assert_int_equal(EVP_PKEY_get_raw_public_key(k->priv, raw, &rlen), 1);
	gate_hex_encode(raw, 32, hex);
	k->pub = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519",
			   "keyval", "public", hex);
	assert_non_null(k->pub);
	assert_int_equal(gate_tuf_keyid(k->pub, k->id, &err), GATE_OK);
}

static void tkey_free(struct tkey *k)
{
	EVP_PKEY_free(k->priv);
	json_decref(k->pub);
}

static char *sig_hex(const struct tkey *k, const uint8_t *msg, size_t len)
{
	uint8_t sig[64];
	size_t slen = sizeof sig;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->priv), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &slen, msg, len), 1);
	EVP_MD_CTX_free(ctx);
	char *hex = malloc(2 * slen + 1);
	gate_hex_encode(sig, slen, hex);
	return hex;
}

/* {"signed": signed (stolen), "signatures": [by each key]} as indented
 * JSON (never canonical: the client must re-encode). */
static char *sign_doc(json_t *signed_obj, struct tkey *const *keys, size_t n)
{
	uint8_t *canon = NULL;
	size_t clen = 0;
	struct gate_error err = {0};
	assert_int_equal(gate_tuf_canonical(signed_obj, 1 << 24, &canon, &clen, &err), GATE_OK);
	json_t *sigs = json_array();
	for (size_t i = 0; i < n; i++) {
		char *h = sig_hex(keys[i], canon, clen);
		json_array_append_new(sigs,
				      json_pack("{s:s, s:s}", "keyid", keys[i]->id, "sig", h));
		free(h);
	}
	free(canon);
	json_t *doc = json_pack("{s:o, s:o}", "signatures", sigs, "signed", signed_obj);
	char *s = json_dumps(doc, JSON_INDENT(1));
	json_decref(doc);
	return s;
}

static json_t *role_obj(struct tkey *const *keys, size_t n, int threshold)
{
	json_t *ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_string(keys[i]->id));
	return json_pack("{s:o, s:i}", "keyids", ids, "threshold", threshold);
}

/* A root whose four roles use keys[0..nroot) with threshold t for root and
 * one key each (ts, sn, tg) for the others. */
static json_t *root_signed(int version, const char *expires, struct tkey *const *rootkeys,
			   size_t nroot, int t, struct tkey *ts, struct tkey *sn, struct tkey *tg,
			   bool consistent)
{
	json_t *keys = json_object();
	for (size_t i = 0; i < nroot; i++)
		json_object_set(keys, rootkeys[i]->id, rootkeys[i]->pub);
	json_object_set(keys, ts->id, ts->pub);
	json_object_set(keys, sn->id, sn->pub);
	json_object_set(keys, tg->id, tg->pub);
	return json_pack("{s:s, s:s, s:i, s:s, s:b, s:o, s:{s:o, s:o, s:o, s:o}}", "_type", "root",
			 "spec_version", "1.0.31", "version", version, "expires", expires,
			 "consistent_snapshot", consistent, "keys", keys, "roles", "root",
			 role_obj(rootkeys, nroot, t), "timestamp", role_obj(&ts, 1, 1), "snapshot",
			 role_obj(&sn, 1, 1), "targets", role_obj(&tg, 1, 1));
}

static void test_thresholds_distinct_keys(void **state)
{
	(void)state;
	struct tkey k[4];
	struct gate_error err = {0};
	for (int i = 0; i < 4; i++)
		tkey_new(&k[i]);
	struct tkey *r2[] = {&k[0], &k[1]};
	/* 2-of-2 root signed by both: valid. */
	char *s = sign_doc(
		root_signed(1, "2030-01-01T00:00:00Z", r2, 2, 2, &k[2], &k[2], &k[2], false), r2,
		2);
	struct gate_tuf_md *md = NULL;
	expect_rc(gate_tuf_root_load((const uint8_t *)s, strlen(s), &md, &err), &err, GATE_OK,
		  "2 of 2");
	assert_int_equal(gate_tuf_count_valid(md, &md->keys, &md->roles[GATE_TUF_ROOT]), 2);
	gate_tuf_md_free(md);
	md = NULL;
	free(s);

	/* Signed by one key only: under threshold. Extra signatures by an
	 * unknown key, an empty one and a non-hex one are skipped. */
	struct tkey *one[] = {&k[0], &k[3]};
	json_t *sg = root_signed(1, "2030-01-01T00:00:00Z", r2, 2, 2, &k[2], &k[2], &k[2], false);
	s = sign_doc(sg, one, 2);
	json_t *doc = json_loads(s, 0, NULL);
	json_array_append_new(json_object_get(doc, "signatures"),
			      json_pack("{s:s, s:s}", "keyid", k[1].id, "sig", ""));
	free(s);
	s = json_dumps(doc, 0);
	expect_rc(gate_tuf_root_load((const uint8_t *)s, strlen(s), &md, &err), &err,
		  GATE_E_SIGNATURE, "1 of 2");
	free(s);
	json_decref(doc);

	/* The same keyid listed twice in a role: the metadata is invalid,
	 * whatever the signatures (test_duplicate_keys). */
	struct tkey *dup[] = {&k[0], &k[0], &k[0]};
	s = sign_doc(root_signed(1, "2030-01-01T00:00:00Z", dup, 3, 2, &k[2], &k[2], &k[2], false),
		     dup, 1);
	expect_rc(gate_tuf_root_load((const uint8_t *)s, strlen(s), &md, &err), &err, GATE_E_PARSE,
		  "duplicate keyids in a role");
	free(s);

	/* The same keyid signing twice: the file is invalid
	 * (test_duplicate_sig_keyids), even though 1-of-1 would be met. */
	struct tkey *r1[] = {&k[0]};
	struct tkey *twice[] = {&k[0], &k[0]};
	s = sign_doc(root_signed(1, "2030-01-01T00:00:00Z", r1, 1, 1, &k[2], &k[2], &k[2], false),
		     twice, 2);
	expect_rc(gate_tuf_root_load((const uint8_t *)s, strlen(s), &md, &err), &err, GATE_E_PARSE,
		  "duplicate signature keyids");
	free(s);

	/* A key filed under a wrong keyid never counts (spec §3). */
	sg = root_signed(1, "2030-01-01T00:00:00Z", r1, 1, 1, &k[2], &k[2], &k[2], false);
	json_t *keys = json_object_get(sg, "keys");
	json_object_set(keys, k[1].id, k[0].pub); /* k0's key under k1's id */
	json_object_set_new(json_object_get(json_object_get(sg, "roles"), "root"), "keyids",
			    json_pack("[s]", k[1].id));
	uint8_t *canon = NULL;
	size_t clen = 0;
	assert_int_equal(gate_tuf_canonical(sg, 1 << 20, &canon, &clen, &err), GATE_OK);
	char *h = sig_hex(&k[0], canon, clen);
	doc = json_pack("{s:o, s:[{s:s, s:s}]}", "signed", sg, "signatures", "keyid", k[1].id,
			"sig", h);
	s = json_dumps(doc, 0);
	expect_rc(gate_tuf_root_load((const uint8_t *)s, strlen(s), &md, &err), &err,
		  GATE_E_SIGNATURE, "key under a wrong keyid");
	free(s);
	free(h);
	free(canon);
	json_decref(doc);
	for (int i = 0; i < 4; i++)
		tkey_free(&k[i]);
}

/* ------------------------------------------------------------------ */
/* malformed metadata (§1)                                            */

#define TS_HEAD                                                                                    \
	"{\"signatures\":[],\"signed\":{\"_type\":\"timestamp\",\"spec_version\":\"1.0.31\","
#define TS_META "\"meta\":{\"snapshot.json\":{\"version\":1}}"

static void test_malformed_metadata(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		enum gate_tuf_type type;
		enum gate_err want;
		const char *why;
	} cases[] = {
		{TS_HEAD "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_OK, "valid timestamp"},
		/* JSON level */
		{TS_HEAD "\"version\":1,\"version\":2,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META
			 "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "duplicate member"},
		{TS_HEAD
		 "\"version\":99999999999999999999,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META
		 "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "version over int64"},
		{TS_HEAD "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "truncated"},
		{"[1]", GATE_TUF_TIMESTAMP, GATE_E_PARSE, "not an object"},
		{"{\"signed\":{\"_type\":\"timestamp\"}}", GATE_TUF_TIMESTAMP, GATE_E_PARSE,
		 "no signatures"},
		{"{\"signatures\":[]}", GATE_TUF_TIMESTAMP, GATE_E_PARSE, "no signed"},
		{"{\"signatures\":{},\"signed\":{\"_type\":\"timestamp\"}}", GATE_TUF_TIMESTAMP,
		 GATE_E_PARSE, "signatures not an array"},
		{"{\"signatures\":[{\"keyid\":\"a\"}],\"signed\":{\"_type\":\"timestamp\"}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "signature without sig"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\"}}", GATE_TUF_TIMESTAMP,
		 GATE_E_MISMATCH, "wrong _type"},
		{"{\"signatures\":[],\"signed\":{\"_type\":7}}", GATE_TUF_TIMESTAMP, GATE_E_PARSE,
		 "_type not a string"},
		/* common fields */
		{TS_HEAD "\"version\":-1,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "negative version"},
		{TS_HEAD "\"version\":0,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "version 0"},
		{TS_HEAD "\"version\":\"1\",\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "version as a string"},
		{TS_HEAD "\"version\":true,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "version as a boolean"},
		{TS_HEAD "\"version\":1.0,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "version as a float"},
		{TS_HEAD "\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}", GATE_TUF_TIMESTAMP,
		 GATE_E_PARSE, "no version"},
		{TS_HEAD "\"version\":1," TS_META "}}", GATE_TUF_TIMESTAMP, GATE_E_PARSE,
		 "no expires"},
		{TS_HEAD "\"version\":1,\"expires\":20300101," TS_META "}}", GATE_TUF_TIMESTAMP,
		 GATE_E_PARSE, "expires as a number"},
		{TS_HEAD "\"version\":1,\"expires\":\"2030-02-30T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "30 February"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"timestamp\",\"spec_version\":\"2.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_UNSUPPORTED, "spec_version 2.0"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"timestamp\",\"spec_version\":\"1\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"," TS_META "}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "spec_version 1"},
		/* timestamp meta */
		{TS_HEAD "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{}}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "empty meta"},
		{TS_HEAD
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{\"snapshot.json\":"
		 "{\"version\":1},\"targets.json\":{\"version\":1}}}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "two meta entries"},
		{TS_HEAD
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{\"snapshot.json\":"
		 "{\"version\":1,\"length\":-1}}}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "negative length"},
		{TS_HEAD
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{\"snapshot.json\":"
		 "{\"version\":1,\"hashes\":{}}}}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "empty hashes"},
		{TS_HEAD
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{\"snapshot.json\":"
		 "{\"version\":1,\"hashes\":{\"sha256\":5}}}}}",
		 GATE_TUF_TIMESTAMP, GATE_E_PARSE, "hash not a string"},
		/* root */
		{"{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{},\"roles\":{"
		 "\"root\":{\"keyids\":[],\"threshold\":1},\"timestamp\":{\"keyids\":[],\"threshold\":1},"
		 "\"snapshot\":{\"keyids\":[],\"threshold\":1}}}}",
		 GATE_TUF_ROOT, GATE_E_PARSE, "missing targets role"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{},\"roles\":{"
		 "\"root\":{\"keyids\":[],\"threshold\":1},\"timestamp\":{\"keyids\":[],\"threshold\":1},"
		 "\"snapshot\":{\"keyids\":[],\"threshold\":1},\"targets\":{\"keyids\":[],\"threshold\":0}"
		 "}}}",
		 GATE_TUF_ROOT, GATE_E_PARSE, "threshold 0"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{},\"roles\":{"
		 "\"root\":{\"keyids\":[],\"threshold\":1},\"timestamp\":{\"keyids\":[],\"threshold\":1},"
		 "\"snapshot\":{\"keyids\":[],\"threshold\":1},\"targets\":{\"keyids\":\"a\","
		 "\"threshold\":1}}}}",
		 GATE_TUF_ROOT, GATE_E_PARSE, "keyids not an array"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{},\"roles\":{"
		 "\"root\":{\"keyids\":[],\"threshold\":1},\"timestamp\":{\"keyids\":[],\"threshold\":1},"
		 "\"snapshot\":{\"keyids\":[],\"threshold\":1},\"targets\":{\"keyids\":[],\"threshold\":1},"
		 "\"mirrors\":{\"keyids\":[],\"threshold\":1}}}}",
		 GATE_TUF_ROOT, GATE_E_PARSE, "unknown role"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"consistent_snapshot\":\"yes\","
		 "\"keys\":{},\"roles\":{}}}",
		 GATE_TUF_ROOT, GATE_E_PARSE, "consistent_snapshot not a boolean"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{\"a\":{\"keytype\":"
		 "\"dsa\",\"scheme\":\"dsa\",\"keyval\":{\"public\":\"00\"}}},\"roles\":{}}}",
		 GATE_TUF_ROOT, GATE_E_UNSUPPORTED, "unknown key type"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{\"a\":{\"keytype\":"
		 "\"ed25519\",\"scheme\":\"ed25519\"}},\"roles\":{}}}",
		 GATE_TUF_ROOT, GATE_E_PARSE, "key without keyval"},
		/* snapshot */
		{"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{\"targets.json\":"
		 "{\"length\":1}}}}",
		 GATE_TUF_SNAPSHOT, GATE_E_PARSE, "meta entry without version"},
		/* targets */
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"a\":{\"length\":1}}"
		 "}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "target without hashes"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"a\":{\"hashes\":"
		 "{\"sha256\":\"00\"}}}}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "target without length"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{},\"delegations\":{"
		 "\"keys\":{},\"roles\":[{\"name\":\"targets\",\"keyids\":[],\"threshold\":1,"
		 "\"terminating\":false,\"paths\":[\"*\"]}]}}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "delegated role named targets"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{},\"delegations\":{"
		 "\"keys\":{},\"roles\":[{\"name\":\"a\",\"keyids\":[],\"threshold\":1,"
		 "\"terminating\":false,\"paths\":[\"*\"]},{\"name\":\"a\",\"keyids\":[],\"threshold\":1,"
		 "\"terminating\":false,\"paths\":[\"*\"]}]}}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "two roles with one name"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{},\"delegations\":{"
		 "\"keys\":{},\"roles\":[{\"name\":\"a\",\"keyids\":[],\"threshold\":1,"
		 "\"terminating\":false,\"paths\":[\"*\"],\"path_hash_prefixes\":[\"ab\"]}]}}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "paths and prefixes"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{},\"delegations\":{"
		 "\"keys\":{},\"roles\":[{\"name\":\"a\",\"keyids\":[],\"threshold\":1,"
		 "\"paths\":[\"*\"]}]}}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "no terminating"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{},\"delegations\":{"
		 "\"keys\":{},\"roles\":[{\"name\":\"a\",\"keyids\":[],\"threshold\":1,"
		 "\"terminating\":false,\"paths\":[7]}]}}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "path not a string"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{},\"delegations\":{"
		 "\"keys\":{},\"roles\":[],\"succinct_roles\":{\"keyids\":[],\"threshold\":1,"
		 "\"bit_length\":8,\"name_prefix\":\"bin\"}}}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "roles and succinct_roles"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{},\"delegations\":{"
		 "\"keys\":{},\"succinct_roles\":{\"keyids\":[],\"threshold\":1,"
		 "\"bit_length\":33,\"name_prefix\":\"bin\"}}}}",
		 GATE_TUF_TARGETS, GATE_E_PARSE, "bit_length 33"},
		{"{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\","
		 "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"a\":{\"length\":1,"
		 "\"hashes\":{\"sha256\":\"00\"},\"custom\":{\"x\":[1,{\"y\":null}]}}},\"x-extra\":"
		 "{\"any\":true}}}",
		 GATE_TUF_TARGETS, GATE_OK, "unknown fields and custom"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct gate_error err = {0};
		expect_rc(parse_type(cases[i].json, cases[i].type, &err), &err, cases[i].want,
			  cases[i].why);
	}
}

static void test_caps(void **state)
{
	(void)state;
	struct gate_error err = {0};
	/* More keyids in one role than GATE_TUF_MAX_KEYIDS. */
	json_t *ids = json_array();
	for (int i = 0; i <= GATE_TUF_MAX_KEYIDS; i++) {
		char id[16];
		snprintf(id, sizeof id, "k%d", i);
		json_array_append_new(ids, json_string(id));
	}
	json_t *role = json_pack("{s:o, s:i}", "keyids", ids, "threshold", 1);
	json_t *doc = json_pack("{s:[], s:{s:s, s:s, s:i, s:s, s:{}, s:{s:O, s:O, s:O, s:O}}}",
				"signatures", "signed", "_type", "root", "spec_version", "1.0",
				"version", 1, "expires", "2030-01-01T00:00:00Z", "keys", "roles",
				"root", role, "timestamp", role, "snapshot", role, "targets", role);
	char *s = json_dumps(doc, 0);
	expect_rc(parse_type(s, GATE_TUF_ROOT, &err), &err, GATE_E_TOO_LARGE, "too many keyids");
	free(s);
	json_decref(doc);
	json_decref(role);
	/* Nesting deeper than the JSON cap. */
	char deep[256];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof deep,
			      "{\"signatures\":[],\"signed\":{\"_type\":"
			      "\"targets\",\"x\":");
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	memcpy(deep + n, "}}", 3);
	expect_rc(parse_type(deep, GATE_TUF_TARGETS, &err), &err, GATE_E_PARSE, "too deep");
}

/* ------------------------------------------------------------------ */
/* expiry, hashes, patterns, bins, quoting                            */

static void test_expires(void **state)
{
	(void)state;
	int64_t t = 0;
	assert_true(gate_rfc3339_parse("1970-01-01T00:00:00Z", GATE_RFC3339_TUF, &t));
	assert_int_equal(t, 0);
	assert_true(gate_rfc3339_parse("2026-11-20T13:58:18Z", GATE_RFC3339_TUF, &t));
	assert_int_equal(t, ROOT15_EXPIRES);
	assert_true(gate_rfc3339_parse("2028-02-29T23:59:59Z", GATE_RFC3339_TUF, &t));
	/* Sigstore root v1: an offset and a fraction (rounded up). */
	assert_true(gate_rfc3339_parse("2021-12-18T13:28:12.99008-06:00", GATE_RFC3339_TUF, &t));
	int64_t z = 0;
	assert_true(gate_rfc3339_parse("2021-12-18T19:28:13Z", GATE_RFC3339_TUF, &z));
	assert_int_equal(t, z);
	assert_true(gate_rfc3339_parse("2022-05-11T19:09:02.000Z", GATE_RFC3339_TUF, &t));
	assert_true(gate_rfc3339_parse("2022-05-11T19:09:02Z", GATE_RFC3339_TUF, &z));
	assert_int_equal(t, z);
	static const char *bad[] = {
		"2030-01-01T00:00:00",
		"2030-01-01 00:00:00Z",
		"2030-01-01t00:00:00Z",
		"2030-13-01T00:00:00Z",
		"2030-02-29T00:00:00Z",
		"2030-01-01T24:00:00Z",
		"2030-01-01T00:00:60Z",
		"2030-01-01T00:00:00.Z",
		"2030-01-01T00:00:00+0100",
		"30-01-01T00:00:00Z",
		"",
		"2030-01-01T00:00:00ZZ",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (gate_rfc3339_parse(bad[i], GATE_RFC3339_TUF, &t))
			print_message("accepted '%s'\n", bad[i]);
		assert_false(gate_rfc3339_parse(bad[i], GATE_RFC3339_TUF, &t));
	}
}

static void test_check_file(void **state)
{
	(void)state;
	static const uint8_t data[] = "target file contents";
	size_t len = sizeof data - 1;
	uint8_t d[64];
	char h256[129], h512[129];
	unsigned int dl = 0;
	struct gate_error err = {0};
	gate_sha256(data, len, d);
	gate_hex_encode(d, 32, h256);
	EVP_Digest(data, len, d, &dl, EVP_sha512(), NULL);
	gate_hex_encode(d, dl, h512);
	struct gate_tuf_hash hs[2] = {{"sha256", h256}, {"sha512", h512}};
	struct gate_tuf_file f = {.name = "t", .length = (int64_t)len, .hashes = hs, .nhashes = 2};
	expect_rc(gate_tuf_check_file(&f, data, len, "t", "T25", &err), &err, GATE_OK, "both");
	f.length = -1;
	expect_rc(gate_tuf_check_file(&f, data, len, "t", "T25", &err), &err, GATE_OK, "no length");
	f.length = (int64_t)len + 1;
	expect_rc(gate_tuf_check_file(&f, data, len, "t", "T25", &err), &err, GATE_E_DIGEST,
		  "length");
	f.length = (int64_t)len;
	expect_rc(gate_tuf_check_file(&f, data, len - 1, "t", "T25", &err), &err, GATE_E_DIGEST,
		  "short data");
	h512[5] ^= 1;
	expect_rc(gate_tuf_check_file(&f, data, len, "t", "T25", &err), &err, GATE_E_DIGEST,
		  "sha512 changed");
	struct gate_tuf_hash unk = {"unknown-hash", h256};
	f.hashes = &unk;
	f.nhashes = 1;
	expect_rc(gate_tuf_check_file(&f, data, len, "t", "T25", &err), &err, GATE_E_DIGEST,
		  "unknown algorithm");
}

static void test_path_patterns(void **state)
{
	(void)state;
	/* The suite's delegation tree (test_targetfile_search). */
	assert_true(gate_tuf_path_match("*.md", "README.md"));
	assert_false(gate_tuf_path_match("*.md", "releases/README.md"));
	assert_false(gate_tuf_path_match("*.md", "README.MD"));
	assert_true(gate_tuf_path_match("foo-?.tgz", "foo-1.tgz"));
	assert_false(gate_tuf_path_match("foo-?.tgz", "foo-alpha.tgz"));
	assert_true(gate_tuf_path_match("releases/*/*", "releases/x/x_v1"));
	assert_false(gate_tuf_path_match("releases/*/*", "releases/x"));
	assert_false(gate_tuf_path_match("releases/*", "releases/x/x_v1"));
	assert_true(gate_tuf_path_match("releases/y/*.zip", "releases/y/y_v1.zip"));
	assert_false(gate_tuf_path_match("releases/y/*.zip", "releases/z/z_v1.zip"));
	assert_true(gate_tuf_path_match("*", "nonexistent target"));
	assert_true(gate_tuf_path_match("*", ".hidden"));
	assert_true(gate_tuf_path_match("[ab]-\\x", "a-\\x"));
	assert_true(gate_tuf_path_match("dir/file", "dir/file"));
	assert_true(gate_tuf_path_match("*", "")); /* as Python fnmatch */

	/* path_hash_prefixes: hex sha256 of the path starts with a prefix. */
	uint8_t h[32];
	char hex[65];
	gate_sha256("targetfile", 10, h);
	gate_hex_encode(h, 32, hex);
	char pre[3] = {hex[0], hex[1], 0};
	char other[3] = {hex[0] == 'f' ? '0' : 'f', hex[1], 0};
	const char *prefixes[] = {other, pre};
	struct gate_tuf_delegation d = {.name = "bins", .prefixes = prefixes, .nprefixes = 2};
	assert_true(gate_tuf_delegation_matches(&d, "targetfile"));
	d.nprefixes = 1;
	assert_false(gate_tuf_delegation_matches(&d, "targetfile"));
}

static void test_succinct_bins(void **state)
{
	(void)state;
	struct gate_tuf_succinct s = {.bit_length = 8, .name_prefix = "bin"};
	char name[64];
	uint8_t h[32];
	gate_sha256("some/target", 11, h);
	assert_true(gate_tuf_succinct_role(&s, "some/target", name, sizeof name));
	char want[16];
	snprintf(want, sizeof want, "bin-%02x", h[0]);
	assert_string_equal(name, want);
	assert_true(gate_tuf_succinct_has(&s, name));
	/* Width = hex digits of 2^bits - 1. */
	s.bit_length = 3;
	assert_true(gate_tuf_succinct_role(&s, "some/target", name, sizeof name));
	snprintf(want, sizeof want, "bin-%x", h[0] >> 5);
	assert_string_equal(name, want);
	assert_true(gate_tuf_succinct_has(&s, "bin-7"));
	assert_false(gate_tuf_succinct_has(&s, "bin-8"));
	assert_false(gate_tuf_succinct_has(&s, "bin-07"));
	assert_false(gate_tuf_succinct_has(&s, "bin-A"));
	assert_false(gate_tuf_succinct_has(&s, "bim-1"));
	s.bit_length = 32;
	assert_true(gate_tuf_succinct_role(&s, "some/target", name, sizeof name));
	assert_int_equal(strlen(name), 4 + 8);
	assert_true(gate_tuf_succinct_has(&s, "bin-ffffffff"));
	assert_false(gate_tuf_succinct_role(&s, "some/target", name, 8));
}

static void test_quote(void **state)
{
	(void)state;
	static const char *cases[][2] = {
		{"?", "%3F"},
		{"#", "%23"},
		{"/delegatedrole", "%2Fdelegatedrole"},
		{"../delegatedrole", "..%2Fdelegatedrole"},
		{"a b", "a%20b"},
		{"\xc3\xa9", "%C3%A9"},
		{"AZaz09-._~", "AZaz09-._~"},
		{"%", "%25"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *q = gate_tuf_quote(cases[i][0]);
		assert_non_null(q);
		assert_string_equal(q, cases[i][1]);
		free(q);
	}
}

/* ------------------------------------------------------------------ */
/* the client over a file:// repository                               */

struct repo {
	char dir[64];	 /* temp root */
	char meta[128];	 /* repository metadata dir */
	char tgt[128];	 /* repository targets dir */
	char local[128]; /* client metadata dir */
	char ldl[128];	 /* client target dir */
	char murl[160], turl[160];
	struct tkey root, ts, sn, tg, dg;
	int root_v, ts_v, sn_v, tg_v, dg_v;
	const char *ts_expires;
	bool consistent;
	/* snapshot meta lengths/hashes, for mix-and-match checks */
	bool with_hashes;
	char *tg_bytes, *dg_bytes, *sn_bytes;
};

static void write_str(const char *dir, const char *name, const char *s, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, len, f), len);
	fclose(f);
}

static json_t *meta_entry(int version, const char *bytes, bool hashes)
{
	json_t *m = json_pack("{s:i}", "version", version);
	if (hashes) {
		uint8_t h[32];
		char hex[65];
		gate_sha256(bytes, strlen(bytes), h);
		gate_hex_encode(h, 32, hex);
		json_object_set_new(m, "length", json_integer((json_int_t)strlen(bytes)));
		json_object_set_new(m, "hashes", json_pack("{s:s}", "sha256", hex));
	}
	return m;
}

static json_t *target_entry(const char *content)
{
	uint8_t h[32];
	char hex[65];
	gate_sha256(content, strlen(content), h);
	gate_hex_encode(h, 32, hex);
	return json_pack("{s:I, s:{s:s}}", "length", (json_int_t)strlen(content), "hashes",
			 "sha256", hex);
}

static const char *versioned(const struct repo *r, int v, const char *name, char *buf, size_t cap)
{
	if (r->consistent)
		snprintf(buf, cap, "%d.%s", v, name);
	else
		snprintf(buf, cap, "%s", name);
	return buf;
}

/* Publish: delegated role "dg" (paths ["deleg/" + "*"]), targets (file "a.txt",
 * delegation), snapshot, timestamp, with current versions. */
static void publish(struct repo *r)
{
	char name[64];
	struct tkey *k;
	free(r->dg_bytes);
	free(r->tg_bytes);
	free(r->sn_bytes);
	json_t *dg = json_pack("{s:s, s:s, s:i, s:s, s:{s:o}}", "_type", "targets", "spec_version",
			       "1.0.31", "version", r->dg_v, "expires", "2030-01-01T00:00:00Z",
			       "targets", "deleg/b.txt", target_entry("content b"));
	k = &r->dg;
	r->dg_bytes = sign_doc(dg, &k, 1);
	write_str(r->meta, versioned(r, r->dg_v, "dg.json", name, sizeof name), r->dg_bytes,
		  strlen(r->dg_bytes));
	json_t *dkeys = json_object();
	json_object_set(dkeys, r->dg.id, r->dg.pub);
	json_t *tg = json_pack(
		"{s:s, s:s, s:i, s:s, s:{s:o}, s:{s:o, s:[{s:s, s:[s], s:i, s:b, s:[s]}]}}",
		"_type", "targets", "spec_version", "1.0.31", "version", r->tg_v, "expires",
		"2030-01-01T00:00:00Z", "targets", "a.txt", target_entry("content a"),
		"delegations", "keys", dkeys, "roles", "name", "dg", "keyids", r->dg.id,
		"threshold", 1, "terminating", 0, "paths", "deleg/*");
	k = &r->tg;
	r->tg_bytes = sign_doc(tg, &k, 1);
	write_str(r->meta, versioned(r, r->tg_v, "targets.json", name, sizeof name), r->tg_bytes,
		  strlen(r->tg_bytes));
	json_t *sn =
		json_pack("{s:s, s:s, s:i, s:s, s:{s:o, s:o}}", "_type", "snapshot", "spec_version",
			  "1.0.31", "version", r->sn_v, "expires", "2030-01-01T00:00:00Z", "meta",
			  "targets.json", meta_entry(r->tg_v, r->tg_bytes, r->with_hashes),
			  "dg.json", meta_entry(r->dg_v, r->dg_bytes, r->with_hashes));
	k = &r->sn;
	r->sn_bytes = sign_doc(sn, &k, 1);
	write_str(r->meta, versioned(r, r->sn_v, "snapshot.json", name, sizeof name), r->sn_bytes,
		  strlen(r->sn_bytes));
	json_t *ts =
		json_pack("{s:s, s:s, s:i, s:s, s:{s:o}}", "_type", "timestamp", "spec_version",
			  "1.0.31", "version", r->ts_v, "expires", r->ts_expires, "meta",
			  "snapshot.json", meta_entry(r->sn_v, r->sn_bytes, r->with_hashes));
	k = &r->ts;
	char *s = sign_doc(ts, &k, 1);
	write_str(r->meta, "timestamp.json", s, strlen(s));
	free(s);
}

static void publish_root(struct repo *r, struct tkey *const *signers, size_t n)
{
	char name[32];
	struct tkey *rk = &r->root;
	json_t *sg = root_signed(r->root_v, "2030-01-01T00:00:00Z", &rk, 1, 1, &r->ts, &r->sn,
				 &r->tg, r->consistent);
	char *s = sign_doc(sg, signers, n);
	snprintf(name, sizeof name, "%d.root.json", r->root_v);
	write_str(r->meta, name, s, strlen(s));
	free(s);
}

static void repo_init(struct repo *r, bool consistent)
{
	memset(r, 0, sizeof *r);
	snprintf(r->dir, sizeof r->dir, "/tmp/gate-tuf-test-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->meta, sizeof r->meta, "%s/repo-meta", r->dir);
	snprintf(r->tgt, sizeof r->tgt, "%s/repo-targets", r->dir);
	snprintf(r->local, sizeof r->local, "%s/client", r->dir);
	snprintf(r->ldl, sizeof r->ldl, "%s/downloads", r->dir);
	snprintf(r->murl, sizeof r->murl, "file://%s", r->meta); /* no trailing '/' */
	snprintf(r->turl, sizeof r->turl, "file://%s/", r->tgt);
	assert_int_equal(mkdir(r->meta, 0755), 0);
	assert_int_equal(mkdir(r->tgt, 0755), 0);
	assert_int_equal(mkdir(r->ldl, 0755), 0);
	char sub[160];
	snprintf(sub, sizeof sub, "%s/deleg", r->tgt);
	assert_int_equal(mkdir(sub, 0755), 0);
	tkey_new(&r->root);
	tkey_new(&r->ts);
	tkey_new(&r->sn);
	tkey_new(&r->tg);
	tkey_new(&r->dg);
	r->consistent = consistent;
	r->root_v = r->ts_v = r->sn_v = r->tg_v = r->dg_v = 1;
	r->ts_expires = "2030-01-01T00:00:00Z";
	struct tkey *rk = &r->root;
	publish_root(r, &rk, 1);
	publish(r);
	/* Target files, hash-prefixed too for consistent snapshots. */
	uint8_t h[32];
	char hex[65], name[128];
	write_str(r->tgt, "a.txt", "content a", 9);
	gate_sha256("content a", 9, h);
	gate_hex_encode(h, 32, hex);
	snprintf(name, sizeof name, "%s.a.txt", hex);
	write_str(r->tgt, name, "content a", 9);
	write_str(r->tgt, "deleg/b.txt", "content b", 9);
	gate_sha256("content b", 9, h);
	gate_hex_encode(h, 32, hex);
	snprintf(name, sizeof name, "deleg/%s.b.txt", hex);
	write_str(r->tgt, name, "content b", 9);
	/* The client trusts root v1. */
	size_t len = 0;
	char path[256];
	snprintf(path, sizeof path, "%s/1.root.json", r->meta);
	uint8_t *root = slurp(path, &len);
	struct gate_error err = {0};
	expect_rc(gate_tuf_init(r->local, root, len, &err), &err, GATE_OK, "init");
	free(root);
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rm_rf(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void repo_free(struct repo *r)
{
	free(r->dg_bytes);
	free(r->tg_bytes);
	free(r->sn_bytes);
	tkey_free(&r->root);
	tkey_free(&r->ts);
	tkey_free(&r->sn);
	tkey_free(&r->tg);
	tkey_free(&r->dg);
	rm_rf(r->dir);
}

static enum gate_err refresh(struct repo *r, int64_t now, bool online, struct gate_tuf_updater **uo,
			     struct gate_error *err)
{
	struct gate_tuf_updater *u = NULL;
	enum gate_err rc = gate_tuf_updater_new(r->local, online ? r->murl : NULL, r->turl, now,
						NULL, &u, err);
	if (rc == GATE_OK)
		rc = gate_tuf_refresh(u, err);
	if (uo)
		*uo = u;
	else
		gate_tuf_updater_free(u);
	return rc;
}

static bool local_exists(const struct repo *r, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", r->local, name);
	return access(path, F_OK) == 0;
}

static int64_t local_version(const struct repo *r, const char *role, enum gate_tuf_type t)
{
	char path[256];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/%s.json", r->local, role);
	if (access(path, F_OK) != 0)
		return 0;
	uint8_t *b = slurp(path, &len);
	struct gate_tuf_md *md = NULL;
	struct gate_error err = {0};
	expect_rc(gate_tuf_md_parse_load(b, len, t, &md, &err), &err, GATE_OK, path);
	int64_t v = md->version;
	gate_tuf_md_free(md);
	free(b);
	return v;
}

static void client_workflow(bool consistent)
{
	struct repo r;
	struct gate_error err = {0};
	struct gate_tuf_updater *u = NULL;
	const struct gate_tuf_target *t = NULL;
	char *path = NULL;
	bool fetched = false;
	repo_init(&r, consistent);

	/* T2-T21 from a fresh client. */
	expect_rc(refresh(&r, REF_TIME, true, &u, &err), &err, GATE_OK, "first refresh");
	assert_int_equal(gate_tuf_trusted_version(u, GATE_TUF_TARGETS), 1);
	assert_true(local_exists(&r, "timestamp.json"));
	assert_true(local_exists(&r, "snapshot.json"));
	assert_true(local_exists(&r, "targets.json"));
	/* Refresh runs once per updater. */
	expect_rc(gate_tuf_refresh(u, &err), &err, GATE_E_USAGE, "second refresh");
	/* T22: top-level and delegated; T25: download, then cache. */
	expect_rc(gate_tuf_find_target(u, "a.txt", &t, &err), &err, GATE_OK, "find a");
	assert_non_null(t);
	assert_string_equal(t->role, "targets");
	expect_rc(gate_tuf_download_target(u, t, r.ldl, &path, &fetched, &err), &err, GATE_OK,
		  "download a");
	assert_true(fetched);
	free(path);
	expect_rc(gate_tuf_download_target(u, t, r.ldl, &path, &fetched, &err), &err, GATE_OK,
		  "cached a");
	assert_false(fetched);
	free(path);
	expect_rc(gate_tuf_find_target(u, "deleg/b.txt", &t, &err), &err, GATE_OK, "find b");
	assert_non_null(t);
	assert_string_equal(t->role, "dg");
	expect_rc(gate_tuf_download_target(u, t, r.ldl, NULL, &fetched, &err), &err, GATE_OK,
		  "download b");
	assert_true(local_exists(&r, "dg.json"));
	expect_rc(gate_tuf_find_target(u, "deleg/none", &t, &err), &err, GATE_OK, "find none");
	assert_null(t);
	expect_rc(gate_tuf_find_target(u, "other/b.txt", &t, &err), &err, GATE_OK, "not delegated");
	assert_null(t);
	gate_tuf_updater_free(u);

	/* Offline: the cached metadata alone answers lookups. */
	expect_rc(refresh(&r, REF_TIME, false, &u, &err), &err, GATE_OK, "offline");
	expect_rc(gate_tuf_find_target(u, "deleg/b.txt", &t, &err), &err, GATE_OK, "offline find");
	assert_non_null(t);
	expect_rc(gate_tuf_find_cached_target(u, t, r.ldl, &path, &err), &err, GATE_OK, "cached");
	assert_non_null(path);
	free(path);
	gate_tuf_updater_free(u);
	/* ... but never when expired (T9). */
	expect_rc(refresh(&r, 1893456000, false, NULL, &err), &err, GATE_E_EXPIRED,
		  "offline expired");

	/* A changed artifact with unchanged metadata is refused (T25). */
	write_str(r.tgt, "a.txt", "content A", 9);
	char hname[128];
	uint8_t h[32];
	char hex[65];
	gate_sha256("content a", 9, h);
	gate_hex_encode(h, 32, hex);
	snprintf(hname, sizeof hname, "%s.a.txt", hex);
	write_str(r.tgt, hname, "content A", 9);
	char lp[256];
	snprintf(lp, sizeof lp, "%s/a.txt", r.ldl);
	unlink(lp);
	expect_rc(refresh(&r, REF_TIME, true, &u, &err), &err, GATE_OK, "refresh 2");
	expect_rc(gate_tuf_find_target(u, "a.txt", &t, &err), &err, GATE_OK, "find a again");
	expect_rc(gate_tuf_download_target(u, t, r.ldl, NULL, NULL, &err), &err, GATE_E_DIGEST,
		  "substituted artifact");
	assert_int_equal(access(lp, F_OK), -1);
	gate_tuf_updater_free(u);

	/* T8: timestamp rollback. */
	r.ts_v = 3;
	r.sn_v = 2;
	publish(&r);
	expect_rc(refresh(&r, REF_TIME, true, NULL, &err), &err, GATE_OK, "ts v3");
	assert_int_equal(local_version(&r, "timestamp", GATE_TUF_TIMESTAMP), 3);
	r.ts_v = 2;
	publish(&r);
	expect_rc(refresh(&r, REF_TIME, true, NULL, &err), &err, GATE_E_MISMATCH, "ts rollback");
	assert_string_equal(err.rule, "T8");
	assert_int_equal(local_version(&r, "timestamp", GATE_TUF_TIMESTAMP), 3);

	/* T9: an expired timestamp is neither used nor stored. */
	r.ts_v = 4;
	r.ts_expires = "2020-01-01T00:00:00Z";
	publish(&r);
	expect_rc(refresh(&r, REF_TIME, true, NULL, &err), &err, GATE_E_EXPIRED, "ts expired");
	assert_string_equal(err.rule, "T9");
	assert_int_equal(local_version(&r, "timestamp", GATE_TUF_TIMESTAMP), 3);
	r.ts_expires = "2030-01-01T00:00:00Z";

	/* T12: mix-and-match: a snapshot whose hash the timestamp does not
	 * vouch for. */
	r.with_hashes = true;
	r.ts_v = 5;
	r.sn_v = 3;
	publish(&r);
	char sname[64];
	versioned(&r, 3, "snapshot.json", sname, sizeof sname);
	char *evil = strdup(r.sn_bytes);
	evil[strlen(evil) - 2] = ' ';
	write_str(r.meta, sname, evil, strlen(evil));
	free(evil);
	expect_rc(refresh(&r, REF_TIME, true, NULL, &err), &err, GATE_E_DIGEST, "snapshot hash");
	assert_string_equal(err.rule, "T12");
	assert_int_equal(local_version(&r, "snapshot", GATE_TUF_SNAPSHOT), 2);

	/* T14: targets rollback through the snapshot. */
	r.tg_v = 2;
	r.sn_v = 4;
	r.ts_v = 6;
	publish(&r);
	expect_rc(refresh(&r, REF_TIME, true, NULL, &err), &err, GATE_OK, "targets v2");
	r.tg_v = 1;
	r.sn_v = 5;
	r.ts_v = 7;
	publish(&r);
	expect_rc(refresh(&r, REF_TIME, true, NULL, &err), &err, GATE_E_MISMATCH,
		  "targets rollback");
	assert_string_equal(err.rule, "T14");

	/* T2 + T4: rotate the timestamp key in root v2 (signed by the old and
	 * new root keys): the cached timestamp v7 stops being a baseline, so
	 * a fresh v1 is accepted (fast-forward recovery). */
	struct tkey old_ts = r.ts;
	tkey_new(&r.ts);
	r.root_v = 2;
	struct tkey *rk = &r.root;
	publish_root(&r, &rk, 1);
	r.tg_v = 3;
	r.sn_v = 6;
	r.ts_v = 1;
	publish(&r);
	expect_rc(refresh(&r, REF_TIME, true, NULL, &err), &err, GATE_OK, "ts key rotation");
	assert_int_equal(local_version(&r, "root", GATE_TUF_ROOT), 2);
	assert_int_equal(local_version(&r, "timestamp", GATE_TUF_TIMESTAMP), 1);
	tkey_free(&old_ts);

	/* T2: root v3 not signed by the trusted root's key is refused and
	 * root v2 stays. */
	struct tkey stranger;
	tkey_new(&stranger);
	r.root_v = 3;
	struct tkey *sk = &stranger;
	publish_root(&r, &sk, 1);
	expect_rc(refresh(&r, REF_TIME, true, NULL, &err), &err, GATE_E_SIGNATURE, "bad root v3");
	assert_string_equal(err.rule, "T2");
	assert_int_equal(local_version(&r, "root", GATE_TUF_ROOT), 2);
	tkey_free(&stranger);
	repo_free(&r);
}

static void test_client_workflow(void **state)
{
	(void)state;
	client_workflow(false);
}

static void test_client_workflow_consistent(void **state)
{
	(void)state;
	client_workflow(true);
}

/* Hash-bin delegation (TAP 15, not in the conformance suite): targets
 * delegates with succinct_roles to bins "bin-0".."bin-3"; only the bin of
 * the path is loaded, and it is terminating. */
static void test_client_succinct(void **state)
{
	(void)state;
	struct repo r;
	struct gate_error err = {0};
	struct gate_tuf_updater *u = NULL;
	const struct gate_tuf_target *t = NULL;
	struct tkey binkey, *k;
	char name[64], path[256];
	repo_init(&r, true);
	tkey_new(&binkey);
	const char *tpath = "pkg/tool-1.0.tar.gz";
	struct gate_tuf_succinct sc = {.bit_length = 2, .name_prefix = "bin"};
	char bin[32];
	assert_true(gate_tuf_succinct_role(&sc, tpath, bin, sizeof bin));
	json_t *snmeta = json_object();
	for (int i = 0; i < 4; i++) {
		char b[16];
		snprintf(b, sizeof b, "bin-%x", i);
		json_t *targets = json_object();
		if (strcmp(b, bin) == 0)
			json_object_set_new(targets, tpath, target_entry("content a"));
		json_t *sg = json_pack("{s:s, s:s, s:i, s:s, s:o}", "_type", "targets",
				       "spec_version", "1.0.31", "version", 1, "expires",
				       "2030-01-01T00:00:00Z", "targets", targets);
		k = &binkey;
		char *doc = sign_doc(sg, &k, 1);
		snprintf(name, sizeof name, "1.%s.json", b);
		write_str(r.meta, name, doc, strlen(doc));
		free(doc);
		snprintf(name, sizeof name, "%s.json", b);
		json_object_set_new(snmeta, name, json_pack("{s:i}", "version", 1));
	}
	json_t *dkeys = json_object();
	json_object_set(dkeys, binkey.id, binkey.pub);
	json_t *tg = json_pack("{s:s, s:s, s:i, s:s, s:{}, s:{s:o, s:{s:[s], s:i, s:i, s:s}}}",
			       "_type", "targets", "spec_version", "1.0.31", "version", 2,
			       "expires", "2030-01-01T00:00:00Z", "targets", "delegations", "keys",
			       dkeys, "succinct_roles", "keyids", binkey.id, "threshold", 1,
			       "bit_length", 2, "name_prefix", "bin");
	k = &r.tg;
	char *tgdoc = sign_doc(tg, &k, 1);
	write_str(r.meta, "2.targets.json", tgdoc, strlen(tgdoc));
	free(tgdoc);
	json_object_set_new(snmeta, "targets.json", json_pack("{s:i}", "version", 2));
	json_object_set_new(snmeta, "dg.json", json_pack("{s:i}", "version", 1));
	json_t *sn = json_pack("{s:s, s:s, s:i, s:s, s:o}", "_type", "snapshot", "spec_version",
			       "1.0.31", "version", 2, "expires", "2030-01-01T00:00:00Z", "meta",
			       snmeta);
	k = &r.sn;
	char *sndoc = sign_doc(sn, &k, 1);
	write_str(r.meta, "2.snapshot.json", sndoc, strlen(sndoc));
	free(sndoc);
	json_t *ts = json_pack("{s:s, s:s, s:i, s:s, s:{s:{s:i}}}", "_type", "timestamp",
			       "spec_version", "1.0.31", "version", 2, "expires",
			       "2030-01-01T00:00:00Z", "meta", "snapshot.json", "version", 2);
	k = &r.ts;
	char *tsdoc = sign_doc(ts, &k, 1);
	write_str(r.meta, "timestamp.json", tsdoc, strlen(tsdoc));
	free(tsdoc);

	expect_rc(refresh(&r, REF_TIME, true, &u, &err), &err, GATE_OK, "succinct refresh");
	expect_rc(gate_tuf_find_target(u, tpath, &t, &err), &err, GATE_OK, "succinct find");
	assert_non_null(t);
	assert_string_equal(t->role, bin);
	/* Only that bin was fetched and stored. */
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "bin-%x.json", i);
		assert_int_equal(local_exists(&r, name), strncmp(name, bin, strlen(bin)) == 0);
	}
	/* Another path lands in its own bin, which lists nothing. */
	expect_rc(gate_tuf_find_target(u, "pkg/other", &t, &err), &err, GATE_OK, "other path");
	assert_null(t);
	gate_tuf_updater_free(u);
	snprintf(path, sizeof path, "%s/%s.json", r.local, bin);
	assert_int_equal(access(path, F_OK), 0);
	tkey_free(&binkey);
	repo_free(&r);
}

static void test_client_no_root(void **state)
{
	(void)state;
	struct gate_tuf_updater *u = NULL;
	struct gate_error err = {0};
	char dir[] = "/tmp/gate-tuf-empty-XXXXXX";
	assert_non_null(mkdtemp(dir));
	/* T1: no trusted root, no updater (and so no network). */
	expect_rc(gate_tuf_updater_new(dir, "http://127.0.0.1:9/", NULL, 0, NULL, &u, &err), &err,
		  GATE_E_IO, "no root.json");
	assert_null(u);
	write_str(dir, "root.json", "{\"signed\":", 10);
	expect_rc(gate_tuf_updater_new(dir, "http://127.0.0.1:9/", NULL, 0, NULL, &u, &err), &err,
		  GATE_E_PARSE, "broken root.json");
	/* init refuses a root that does not verify, and writes nothing. */
	char sub[64];
	snprintf(sub, sizeof sub, "%s/md", dir);
	static const char ts[] = "{\"signed\":{\"_type\":\"root\"},\"signatures\":[]}";
	assert_int_not_equal(gate_tuf_init(sub, (const uint8_t *)ts, strlen(ts), &err), GATE_OK);
	assert_int_equal(access(sub, F_OK), -1);
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_vectors),
		cmocka_unit_test(test_canonical_rejects_floats_and_caps),
		cmocka_unit_test(test_sigstore_keyids),
		cmocka_unit_test(test_sigstore_root_chain),
		cmocka_unit_test(test_sigstore_root_chain_must_fail),
		cmocka_unit_test(test_thresholds_distinct_keys),
		cmocka_unit_test(test_malformed_metadata),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_expires),
		cmocka_unit_test(test_check_file),
		cmocka_unit_test(test_path_patterns),
		cmocka_unit_test(test_succinct_bins),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_client_workflow),
		cmocka_unit_test(test_client_workflow_consistent),
		cmocka_unit_test(test_client_succinct),
		cmocka_unit_test(test_client_no_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
