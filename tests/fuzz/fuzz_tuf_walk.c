/* fuzz_tuf_walk.c - what an allowlist lookup does with a repository's
 * cached metadata once it verifies (verify/tuf/tuf_trust.c, the enumeration in
 * tuf_client.c, policy/tuf.c): the input is the "signed" part of the
 * top-level targets role, of a delegated role "d", and the text of the
 * cache's last-update stamp, separated by NUL bytes. The harness signs the
 * fuzzed bytes with a fixed Ed25519 key (so the signatures verify and the
 * fuzzer reaches past them), writes a repository cache around them (root,
 * snapshot and timestamp made to match), then runs gate_tuf_cache_open
 * (offline verification), gate_tuf_walk_targets, gate_tuf_find_target on
 * what the walk found, gate_tuf_cache_stamp, and the tuf_target policy
 * requirement for a listed and an unlisted artifact.
 *
 * Inputs: "TARGETS-SIGNED\0DELEGATED-SIGNED\0STAMP" (missing parts are
 * empty). */
#include "tuf_evidence.h"

#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1787616000 /* 2026-08-25 */

static EVP_PKEY *g_key;
static char g_keyid[65];
static char g_pub[65];
static char g_dir[64];

static void die(const char *m)
{
	fprintf(stderr, "fuzz_tuf_walk: %s\n", m);
	abort();
}

static int rm_cb(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

/* The scratch cache goes with the process. */
static void cleanup(void)
{
	nftw(g_dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	static const uint8_t seed[32] = {7, 7, 7};
	uint8_t pub[32];
	size_t pl = sizeof pub;
	json_t *k;
	if (!(g_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32)) ||
	    !EVP_PKEY_get_raw_public_key(g_key, pub, &pl))
		die("key");
	gate_hex_encode(pub, 32, g_pub);
	k = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519", "keyval",
		      "public", g_pub);
	if (!k || gate_tuf_keyid(k, g_keyid, NULL) != GATE_OK)
		die("keyid");
	json_decref(k);
	snprintf(g_dir, sizeof g_dir, "/tmp/fuzz-tuf-walk-%d", (int)getpid());
	char md[96];
	snprintf(md, sizeof md, "%s/metadata", g_dir);
	if ((mkdir(g_dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(md, 0700) != 0 && errno != EEXIST))
		die("mkdir");
	atexit(cleanup);
}

static char *sig_hex(const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t sig[64];
	size_t sl = sizeof sig;
	char *hex = malloc(129);
	if (!c || !hex || !EVP_DigestSignInit(c, NULL, NULL, NULL, g_key) ||
	    !EVP_DigestSign(c, sig, &sl, msg, len))
		die("sign");
	EVP_MD_CTX_free(c);
	gate_hex_encode(sig, 64, hex);
	return hex;
}

/* Write {"signatures":[...],"signed":RAW} where the signature covers the
 * canonical form of RAW as jansson reads it (none if it does not parse). */
static void write_role(const char *name, const uint8_t *raw, size_t len)
{
	char path[128];
	json_t *v =
		json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	uint8_t *canon = NULL;
	size_t clen = 0;
	char *sig = NULL;
	if (v && gate_tuf_canonical(v, 1 << 20, &canon, &clen, NULL) == GATE_OK)
		sig = sig_hex(canon, clen);
	json_decref(v);
	free(canon);
	snprintf(path, sizeof path, "%s/metadata/%s", g_dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		die("write");
	if (sig)
		fprintf(f,
			"{\"signatures\":[{\"keyid\":\"%s\",\"sig\":\"%s\"}],\"signed\":", g_keyid,
			sig);
	else
		fputs("{\"signatures\":[],\"signed\":", f);
	fwrite(raw, 1, len, f);
	fputc('}', f);
	fclose(f);
	free(sig);
}

static void write_json_role(const char *name, json_t *signed_obj)
{
	char *text = json_dumps(signed_obj, JSON_COMPACT);
	if (!text)
		die("dump");
	write_role(name, (const uint8_t *)text, strlen(text));
	free(text);
	json_decref(signed_obj);
}

/* The "version" a fuzzed role claims (1 when it does not say). */
static json_int_t version_in(const uint8_t *raw, size_t len)
{
	json_t *v = json_loadb((const char *)raw, len, JSON_DECODE_ANY, NULL);
	json_t *n = json_is_object(v) ? json_object_get(v, "version") : NULL;
	json_int_t ver = json_is_integer(n) ? json_integer_value(n) : 1;
	json_decref(v);
	return ver;
}

struct found {
	char hex[65];
	int64_t length;
	char path[256];
	size_t n;
};

static bool on_target(void *ctx, const struct gate_tuf_file *f, const char *role)
{
	struct found *fd = ctx;
	(void)role;
	if (fd->n++ == 0) {
		for (size_t i = 0; i < f->nhashes; i++)
			if (strcmp(f->hashes[i].alg, "sha256") == 0)
				snprintf(fd->hex, sizeof fd->hex, "%s", f->hashes[i].hex);
		fd->length = f->length;
		snprintf(fd->path, sizeof fd->path, "%s", f->name);
	}
	return fd->n < 64;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[3] = {(const uint8_t *)"", (const uint8_t *)"", (const uint8_t *)""};
	size_t plen[3] = {0, 0, 0};
	char path[128];
	if (size > 1u << 18)
		return 0;
	if (!g_key)
		setup();
	for (size_t i = 0, p = 0, start = 0; i <= size && p < 3; i++) {
		if (i == size || data[i] == 0) {
			part[p] = data + start;
			plen[p++] = i - start;
			start = i + 1;
		}
	}
	/* Root: the one key for every role, threshold 1. */
	json_t *role = json_pack("{s:[s],s:i}", "keyids", g_keyid, "threshold", 1);
	write_json_role(
		"root.json",
		json_pack("{s:s,s:s,s:i,s:s,s:b,s:{s:{s:s,s:s,s:{s:s}}},s:{s:O,s:O,s:O,s:O}}",
			  "_type", "root", "spec_version", "1.0", "version", 1, "expires",
			  "2030-01-01T00:00:00Z", "consistent_snapshot", 0, "keys", g_keyid,
			  "keytype", "ed25519", "scheme", "ed25519", "keyval", "public", g_pub,
			  "roles", "root", role, "timestamp", role, "snapshot", role, "targets",
			  role));
	json_decref(role);
	write_role("targets.json", part[0], plen[0]);
	write_role("d.json", part[1], plen[1]);
	write_json_role("snapshot.json",
			json_pack("{s:s,s:s,s:i,s:s,s:{s:{s:I},s:{s:I}}}", "_type", "snapshot",
				  "spec_version", "1.0", "version", 1, "expires",
				  "2030-01-01T00:00:00Z", "meta", "targets.json", "version",
				  version_in(part[0], plen[0]), "d.json", "version",
				  version_in(part[1], plen[1])));
	write_json_role("timestamp.json",
			json_pack("{s:s,s:s,s:i,s:s,s:{s:{s:i}}}", "_type", "timestamp",
				  "spec_version", "1.0", "version", 1, "expires",
				  "2030-01-01T00:00:00Z", "meta", "snapshot.json", "version", 1));
	snprintf(path, sizeof path, "%s/last-update", g_dir);
	FILE *sf = fopen(path, "wb");
	if (!sf)
		die("stamp");
	fwrite(part[2], 1, plen[2], sf);
	fclose(sf);

	int64_t stamp = 0;
	(void)gate_tuf_cache_stamp(g_dir, &stamp);
	struct gate_tuf_cache *c = NULL;
	struct found fd = {.length = -1};
	if (gate_tuf_cache_open(g_dir, NOW, &c, NULL) == GATE_OK) {
		struct gate_tuf_walk_stats ws;
		const struct gate_tuf_target *t = NULL;
		(void)gate_tuf_walk_targets(gate_tuf_cache_updater(c), 8, on_target, &fd, &ws,
					    NULL);
		if (fd.n)
			(void)gate_tuf_find_target(gate_tuf_cache_updater(c), fd.path, &t, NULL);
		(void)gate_tuf_find_target(gate_tuf_cache_updater(c), "a/b.txt", &t, NULL);
	}
	gate_tuf_cache_close(c);

	/* The policy requirement over the same cache (offline). */
	struct gate_policy_tuf pt = {.name = "f", .cache_dir = g_dir, .max_staleness = 1 << 30};
	struct gate_rule r = {.name = "r", .has_tuf = true, .tuf_path = fd.n % 2 ? "**" : NULL};
	struct gate_policy p = {.tufs = &pt, .ntufs = 1, .rules = &r, .nrules = 1};
	struct gate_facts *f = NULL;
	struct gate_eval ev;
	if (gate_tuf_evidence(&p, &r, fd.hex[0] ? fd.hex : "00",
			      fd.length > 0 ? (uint64_t)fd.length : 1, NOW, &f, NULL) == GATE_OK) {
		gate_policy_evaluate(&p, &r, &f, 1, NOW, &ev);
		if (ev.nreqs != 1 || !ev.reqs[0].held)
			abort();
	}
	gate_facts_free(f);
	f = NULL;
	if (gate_tuf_evidence(&p, &r,
			      "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881", 1,
			      NOW, &f, NULL) == GATE_OK &&
	    !f)
		abort();
	gate_facts_free(f);
	return 0;
}
