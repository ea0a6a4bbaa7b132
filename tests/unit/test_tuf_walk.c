/* test_tuf_walk.c - allowlist lookups by digest (gate_tuf_walk_targets,
 * policy/tuf.c) over a verified cache with delegations: every role is
 * enumerated once (explicit delegations in order, hash bins from the
 * snapshot, cycles), a role that does not load is skipped and named, the
 * role cap holds; the tuf_target requirement allows only what the
 * delegation search (T22) gives for that path (a delegated role listing a
 * path it was not delegated does not count; a terminating delegation
 * hides the rest), honours tuf_path, and denies a stale, future-dated,
 * missing or expired cache with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "tuf_evidence.h"

#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW 1787616000 /* 2026-08-25T00:00:00Z */
#define EXPIRES "2027-01-01T00:00:00Z"

static char g_dir[64];
static EVP_PKEY *g_key;
static char g_keyid[65];
static json_t *g_keyobj;

static int setup(void **state)
{
	(void)state;
	uint8_t pub[32];
	size_t pl = sizeof pub;
	char hex[65];
	snprintf(g_dir, sizeof g_dir, "/tmp/test_tuf_walk.XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &g_key), 1);
	EVP_PKEY_CTX_free(c);
	assert_int_equal(EVP_PKEY_get_raw_public_key(g_key, pub, &pl), 1);
	gate_hex_encode(pub, 32, hex);
	g_keyobj = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519",
			     "keyval", "public", hex);
	assert_int_equal(gate_tuf_keyid(g_keyobj, g_keyid, NULL), GATE_OK);
	char md[128];
	snprintf(md, sizeof md, "%s/metadata", g_dir);
	assert_int_equal(mkdir(md, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_rmtree(g_dir);
	EVP_PKEY_free(g_key);
	json_decref(g_keyobj);
	return 0;
}

/* Sign and write signed_obj (taken) as metadata/NAME.json. */
static void put(const char *name, json_t *signed_obj)
{
	uint8_t *canon = NULL, sig[64];
	size_t clen = 0, sl = sizeof sig;
	char hex[129], path[256];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	assert_non_null(signed_obj);
	assert_int_equal(gate_tuf_canonical(signed_obj, 1 << 20, &canon, &clen, NULL), GATE_OK);
	assert_int_equal(EVP_DigestSignInit(c, NULL, NULL, NULL, g_key), 1);
	assert_int_equal(EVP_DigestSign(c, sig, &sl, canon, clen), 1);
	EVP_MD_CTX_free(c);
	free(canon);
	gate_hex_encode(sig, 64, hex);
	json_t *doc = json_pack("{s:[{s:s,s:s}],s:o}", "signatures", "keyid", g_keyid, "sig", hex,
				"signed", signed_obj);
	snprintf(path, sizeof path, "%s/metadata/%s.json", g_dir, name);
	assert_int_equal(json_dump_file(doc, path, JSON_COMPACT), 0);
	json_decref(doc);
}

static json_t *common(const char *type, int version)
{
	return json_pack("{s:s,s:s,s:i,s:s}", "_type", type, "spec_version", "1.0", "version",
			 version, "expires", EXPIRES);
}

static json_t *target(const char *content)
{
	uint8_t h[32];
	char hex[65];
	gate_sha256(content, strlen(content), h);
	gate_hex_encode(h, 32, hex);
	return json_pack("{s:I,s:{s:s}}", "length", (json_int_t)strlen(content), "hashes", "sha256",
			 hex);
}

static json_t *deleg(const char *name, const char *path, bool terminating)
{
	return json_pack("{s:s,s:[s],s:i,s:b,s:[s]}", "name", name, "keyids", g_keyid, "threshold",
			 1, "terminating", terminating, "paths", path);
}

static json_t *targets_role(int version, json_t *targets, json_t *roles)
{
	json_t *s = common("targets", version);
	json_object_set_new(s, "targets", targets);
	if (roles)
		json_object_set_new(
			s, "delegations",
			json_pack("{s:{s:O},s:o}", "keys", g_keyid, g_keyobj, "roles", roles));
	return s;
}

/* The repository:
 *   targets: top.bin="top"; delegates a/ * -> "a" (terminating),
 *            b/ * -> "b", c/ * -> "c" (not in the snapshot), * -> "loop"
 *   a: a/1="one", b/2="evil" (a path it was not delegated)
 *   b: b/2="two"; delegates b/ * -> "loop"
 *   loop: delegates * -> "b" (a cycle) and * -> "a" (visited once)
 */
static void build(const char *stamp)
{
	json_t *role = json_pack("{s:[s],s:i}", "keyids", g_keyid, "threshold", 1);
	json_t *root = common("root", 1);
	json_object_set_new(root, "consistent_snapshot", json_false());
	json_object_set_new(root, "keys", json_pack("{s:O}", g_keyid, g_keyobj));
	json_object_set_new(root, "roles",
			    json_pack("{s:O,s:O,s:O,s:O}", "root", role, "timestamp", role,
				      "snapshot", role, "targets", role));
	json_decref(role);
	put("root", root);
	put("targets",
	    targets_role(3, json_pack("{s:o}", "top.bin", target("top")),
			 json_pack("[o,o,o,o]", deleg("a", "a/*", true), deleg("b", "b/*", false),
				   deleg("c", "c/*", false), deleg("loop", "*", false))));
	put("a",
	    targets_role(1, json_pack("{s:o,s:o}", "a/1", target("one"), "b/2", target("evil")),
			 NULL));
	put("b", targets_role(1, json_pack("{s:o}", "b/2", target("two")),
			      json_pack("[o]", deleg("loop", "b/*", false))));
	put("loop",
	    targets_role(1, json_object(),
			 json_pack("[o,o]", deleg("b", "*", false), deleg("a", "*", false))));
	json_t *snap = common("snapshot", 1);
	json_object_set_new(snap, "meta",
			    json_pack("{s:{s:i},s:{s:i},s:{s:i},s:{s:i}}", "targets.json",
				      "version", 3, "a.json", "version", 1, "b.json", "version", 1,
				      "loop.json", "version", 1));
	put("snapshot", snap);
	json_t *ts = common("timestamp", 1);
	json_object_set_new(ts, "meta", json_pack("{s:{s:i}}", "snapshot.json", "version", 1));
	put("timestamp", ts);
	char path[128];
	snprintf(path, sizeof path, "%s/last-update", g_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(stamp, f);
	fclose(f);
}

struct seen {
	char names[16][64];
	char roles[16][16];
	size_t n;
};

static bool on_target(void *ctx, const struct gate_tuf_file *f, const char *role)
{
	struct seen *s = ctx;
	if (s->n < 16) {
		snprintf(s->names[s->n], sizeof s->names[0], "%s", f->name);
		snprintf(s->roles[s->n], sizeof s->roles[0], "%s", role);
	}
	s->n++;
	return true;
}

static void test_walk(void **state)
{
	(void)state;
	struct gate_tuf_cache *c = NULL;
	struct gate_tuf_walk_stats ws;
	struct gate_error err = {0};
	struct seen s = {0};
	build("1787615000\n");
	assert_int_equal(gate_tuf_cache_open(g_dir, NOW, &c, &err), GATE_OK);
	assert_int_equal(
		gate_tuf_walk_targets(gate_tuf_cache_updater(c), 100, on_target, &s, &ws, &err),
		GATE_OK);
	/* Pre-order, in delegation order: targets, a, b, loop (whose "b"
	 * and "a" are already visited: the cycle ends), then c fails (not in
	 * the snapshot). */
	assert_int_equal(ws.roles, 4);
	assert_int_equal(ws.skipped, 1);
	assert_non_null(strstr(ws.first_skip.msg, "not listed in the snapshot"));
	assert_false(ws.truncated);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.names[0], "top.bin");
	assert_string_equal(s.roles[0], "targets");
	assert_string_equal(s.roles[1], "a");
	assert_string_equal(s.roles[3], "b");
	gate_tuf_cache_close(c);

	/* The role cap. */
	c = NULL;
	memset(&s, 0, sizeof s);
	assert_int_equal(gate_tuf_cache_open(g_dir, NOW, &c, &err), GATE_OK);
	assert_int_equal(
		gate_tuf_walk_targets(gate_tuf_cache_updater(c), 2, on_target, &s, &ws, &err),
		GATE_OK);
	assert_int_equal(ws.roles, 2);
	assert_true(ws.truncated);
	gate_tuf_cache_close(c);
}

/* The requirement line a decision shows: the evaluation's when the
 * repository lists the artifact, else the evidence's reason. */
struct line {
	bool held;
	char detail[512];
};

static void lookup(struct gate_policy *p, struct gate_rule *r, const char *hex, uint64_t size,
		   int64_t now, struct line *out)
{
	struct gate_facts *f = NULL;
	struct gate_error e = {0};
	if (gate_tuf_evidence(p, r, hex, size, now, &f, &e) != GATE_OK) {
		assert_null(f);
		assert_string_equal(e.field, "tuf_target");
		out->held = false;
		snprintf(out->detail, sizeof out->detail, "%s", e.msg);
		return;
	}
	struct gate_eval ev;
	assert_int_equal(f->kind, GATE_SIGNER_TUF);
	assert_string_equal(f->digest, hex);
	gate_policy_evaluate(p, r, &f, 1, now, &ev);
	assert_int_equal(ev.nreqs, 1);
	assert_string_equal(ev.reqs[0].what, "tuf_target");
	assert_true(ev.reqs[0].held);
	assert_int_equal(ev.decision, GATE_DECISION_ALLOW);
	out->held = true;
	snprintf(out->detail, sizeof out->detail, "%s", ev.reqs[0].detail);
	gate_facts_free(f);
}

static void expect(const char *content, const char *pattern, int64_t now, bool held,
		   const char *detail)
{
	struct gate_policy_tuf t = {.name = "corp", .cache_dir = g_dir, .max_staleness = 3600};
	struct gate_rule r = {.name = "r", .has_tuf = true, .tuf = 0, .tuf_path = (char *)pattern};
	struct gate_policy p = {.tufs = &t, .ntufs = 1, .rules = &r, .nrules = 1};
	struct line l;
	uint8_t h[32];
	char hex[65];
	gate_sha256(content, strlen(content), h);
	gate_hex_encode(h, 32, hex);
	lookup(&p, &r, hex, strlen(content), now, &l);
	if (l.held != held || !strstr(l.detail, detail))
		print_message("'%s': held %d, detail: %s\n", content, l.held, l.detail);
	assert_int_equal(l.held, held);
	assert_non_null(strstr(l.detail, detail));
}

static void test_policy_lookup(void **state)
{
	(void)state;
	build("1787615000\n");
	expect("top", NULL, NOW, true, "listed as 'top.bin' by role 'targets'");
	expect("one", NULL, NOW, true, "listed as 'a/1' by role 'a'");
	expect("two", NULL, NOW, true, "listed as 'b/2' by role 'b'");
	/* "a" lists b/2 too, but b/ is delegated to "b": not the target. */
	expect("evil", NULL, NOW, false, "not a target of TUF repository 'corp'");
	expect("evil", NULL, NOW, false, "unavailable role");
	expect("nothing", NULL, NOW, false, "not a target");
	/* tuf_path: a glob over the target path. */
	expect("one", "a/*", NOW, true, "a/1");
	expect("top", "a/*", NOW, false, "under 'a/*'");
	expect("two", "**", NOW, true, "b/2");
	/* Length and digest both count: same content prefix, other length. */
	expect("tw", NULL, NOW, false, "not a target");

	/* Staleness (max 1h): 2h after the update, and an update "from the
	 * future". */
	expect("top", NULL, 1787615000 + 7200, false,
	       "last updated 2h ago, more than max_staleness 1h");
	build("1787620000\n");
	expect("top", NULL, NOW, false, "in the future");
	/* An empty or garbage stamp is not "never updated" (issue 16). */
	build("");
	expect("top", NULL, NOW, false, "last-update is unreadable or not a unix time");
	build("garbage\n");
	expect("top", NULL, NOW, false, "last-update is unreadable or not a unix time");
	char stamp[128];
	snprintf(stamp, sizeof stamp, "%s/last-update", g_dir);
	unlink(stamp);
	expect("top", NULL, NOW, false, "never updated");

	/* Expired metadata inside max_staleness: freeze. */
	build("1798761000\n"); /* 2027-01-01T00:50:00Z */
	expect("top", NULL, 1798761600, false, "expired metadata: possible freeze attack");
	/* A cache that does not verify (root missing). */
	build("1787615000\n");
	char path[128];
	snprintf(path, sizeof path, "%s/metadata/root.json", g_dir);
	unlink(path);
	expect("top", NULL, NOW, false, "no cached TUF metadata");
	/* No cache directory at all. */
	struct gate_policy_tuf t = {.name = "x", .cache_dir = NULL, .max_staleness = 60};
	struct gate_rule r = {.name = "r", .has_tuf = true};
	struct gate_policy p = {.tufs = &t, .ntufs = 1, .rules = &r, .nrules = 1};
	struct line l;
	lookup(&p, &r, "00", 1, NOW, &l);
	assert_false(l.held);
	assert_non_null(strstr(l.detail, "no cache directory"));
	/* Not listed: the evaluation's own line denies. */
	struct gate_eval ev;
	gate_policy_evaluate(&p, &r, NULL, 0, NOW, &ev);
	assert_int_equal(ev.nreqs, 1);
	assert_false(ev.reqs[0].held);
	assert_int_equal(ev.decision, GATE_DECISION_DENY);
	assert_non_null(strstr(ev.reqs[0].detail, "not listed by TUF repository 'x'"));
}

/* Hash bins (TAP 15): the bins the snapshot lists are enumerated; a path
 * counts only in its own bin. */
static void test_succinct(void **state)
{
	(void)state;
	uint8_t h[32];
	char right[16], wrong[16];
	/* bit_length 1: bin = top bit of sha256(path), names bin-0, bin-1. */
	gate_sha256("p/x", 3, h);
	snprintf(right, sizeof right, "bin-%d", h[0] >> 7);
	snprintf(wrong, sizeof wrong, "bin-%d", !(h[0] >> 7));
	build("1787615000\n");
	json_t *t = common("targets", 3);
	json_object_set_new(t, "targets", json_object());
	json_object_set_new(t, "delegations",
			    json_pack("{s:{s:O},s:{s:[s],s:i,s:i,s:s}}", "keys", g_keyid, g_keyobj,
				      "succinct_roles", "keyids", g_keyid, "threshold", 1,
				      "bit_length", 1, "name_prefix", "bin"));
	put("targets", t);
	/* "p/x" in its bin; "q" only in the other bin, holding p/x's bytes
	 * under a path that does not hash there. */
	put(right, targets_role(1, json_pack("{s:o}", "p/x", target("px")), NULL));
	put(wrong, targets_role(1, json_pack("{s:o}", "p/x", target("intruder")), NULL));
	json_t *snap = common("snapshot", 1);
	json_object_set_new(snap, "meta",
			    json_pack("{s:{s:i},s:{s:i},s:{s:i}}", "targets.json", "version", 3,
				      "bin-0.json", "version", 1, "bin-1.json", "version", 1));
	put("snapshot", snap);
	struct gate_tuf_cache *c = NULL;
	struct gate_tuf_walk_stats ws;
	struct gate_error err = {0};
	struct seen s = {0};
	assert_int_equal(gate_tuf_cache_open(g_dir, NOW, &c, &err), GATE_OK);
	assert_int_equal(
		gate_tuf_walk_targets(gate_tuf_cache_updater(c), 100, on_target, &s, &ws, &err),
		GATE_OK);
	assert_int_equal(ws.roles, 3);
	assert_int_equal(s.n, 2);
	gate_tuf_cache_close(c);
	expect("px", NULL, NOW, true, "listed as 'p/x' by role 'bin-");
	expect("intruder", NULL, NOW, false, "not a target");
}

/* The policy schema end to end: trust.tuf + tuf_target through the
 * loader, and the evaluator's tuf-only rules. */
static void test_policy_load(void **state)
{
	(void)state;
	char yaml[2048], rootpath[128];
	struct gate_policy *p = NULL;
	struct gate_error err = {0};
	build("1787615000\n");
	snprintf(rootpath, sizeof rootpath, "%s/metadata/root.json", g_dir);
	snprintf(yaml, sizeof yaml,
		 "version: 1\n"
		 "trust:\n"
		 "  tuf:\n"
		 "    corp: {url: 'https://tuf.example.com/', root: %s, max_staleness: 2d}\n"
		 "rules:\n"
		 "  - name: r\n"
		 "    require: {tuf_target: corp, tuf_path: 'a/*'}\n",
		 rootpath);
	setenv("GATE_CACHE_DIR", g_dir, 1);
	assert_int_equal(gate_policy_parse("/etc/gate/p.yaml", (const uint8_t *)yaml, strlen(yaml),
					   &p, &err),
			 GATE_OK);
	assert_int_equal(p->ntufs, 1);
	assert_string_equal(p->tufs[0].name, "corp");
	assert_int_equal(p->tufs[0].max_staleness, 2 * 86400);
	assert_false(p->tufs[0].refresh);
	assert_non_null(strstr(p->tufs[0].cache_dir, "/tuf/repos/corp-"));
	assert_true(p->rules[0].has_tuf);
	assert_false(p->rules[0].has_signers);
	assert_string_equal(p->rules[0].tuf_path, "a/*");
	/* Worked out at load: the rule reads the TUF repository only. */
	assert_int_equal(p->rules[0].sources, GATE_SOURCE_TUF);
	struct gate_eval ev;
	gate_policy_evaluate(p, &p->rules[0], NULL, 0, NOW, &ev);
	assert_int_equal(ev.decision, GATE_DECISION_DENY);
	assert_int_equal(ev.nreqs, 1);
	assert_string_equal(ev.reqs[0].what, "tuf_target");
	gate_policy_tuf_free(p);
	assert_int_equal(p->ntufs, 0);
	gate_policy_free(p);
	unsetenv("GATE_CACHE_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_policy_lookup),
		cmocka_unit_test(test_succinct),
		cmocka_unit_test(test_policy_load),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
