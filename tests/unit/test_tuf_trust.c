/* test_tuf_trust.c - verify/tuf/tuf_trust.c and gate/tuf/tuf_repo.c without a
 * network: repositories made with the publishing API (init, add, sign,
 * root rotation with revoked keys) read through file:// URLs by
 * gate_tuf_cache_update; gate_trusted_root_best choosing the cache or the
 * embedded root (fresh, expired, corrupt, missing, an update in progress);
 * the last-update stamp parser; cache directories, the reference time and
 * transfer limits from the environment; the publishing side's refusals
 * (thresholds, bad target paths, unsupported keys, wrong passphrases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "internal.h"
#include "sign.h"
#include "tuf_repo.h"
#include "tuf_trust.h"

#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TRUSTED_ROOT GATE_SOURCE_DIR "/verify/data/trusted_root.json"

static char g_tmp[64];

static char *P(const char *name)
{
	static char buf[8][512];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof buf[i], "%s/%s", g_tmp, name);
	return buf[i];
}

static void expect_rc(enum gate_err rc, const struct gate_error *err, enum gate_err want,
		      const char *what)
{
	if (rc != want)
		print_message("%s: got %d (%s: %s [%s]), want %d\n", what, (int)rc, err->field,
			      err->msg, err->rule, (int)want);
	assert_int_equal(rc, want);
}

static int setup(void **state)
{
	(void)state;
	snprintf(g_tmp, sizeof g_tmp, "/tmp/test_tuf_trust.XXXXXX");
	assert_non_null(mkdtemp(g_tmp));
	setenv("GATE_CACHE_DIR", g_tmp, 1);
	unsetenv("GATE_TIME");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_rmtree(g_tmp);
	return 0;
}

static void write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

/* ---- stamp, directories, time, caps ---- */

static void test_stamp(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool ok;
		int64_t v;
	} cases[] = {
		{"1787616000\n", true, 1787616000},
		{"1787616000", true, 1787616000},
		{"0", true, 0},
		{"", false, 0},
		{"\n", false, 0},
		{"12a", false, 0},
		{"1 2", false, 0},
		{"-1", false, 0},
		{"+5", false, 0},
		{"1787616000\n\n", false, 0},
		{"99999999999999999999", false, 0}, /* 20 digits: overflow */
		{"9223372036854775807", false, 0},  /* 19 digits: refused */
		{"999999999999999999", true, 999999999999999999},
	};
	char *dir = P("stamp");
	mkdir(dir, 0755);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t v = -7;
		char path[600];
		snprintf(path, sizeof path, "%s/last-update", dir);
		write_text(path, cases[i].text);
		bool ok = gate_tuf_cache_stamp(dir, &v);
		if (ok != cases[i].ok)
			print_message("stamp '%s': got %d\n", cases[i].text, ok);
		assert_int_equal(ok, cases[i].ok);
		if (ok)
			assert_int_equal(v, cases[i].v);
	}
	int64_t v = 0;
	assert_false(gate_tuf_cache_stamp(P("nonexistent"), &v));
}

static void test_state_dir_and_now(void **state)
{
	(void)state;
	char *d = gate_tuf_state_dir("sigstore");
	char want[600];
	snprintf(want, sizeof want, "%s/tuf/sigstore", g_tmp);
	assert_string_equal(d, want);
	free(d);
	/* A relative GATE_CACHE_DIR is ignored. */
	setenv("GATE_CACHE_DIR", "relative", 1);
	d = gate_tuf_state_dir("x");
	assert_non_null(d);
	assert_true(d[0] == '/');
	if (geteuid() == 0)
		assert_string_equal(d, "/var/lib/gate/tuf/x");
	free(d);
	if (geteuid() != 0) {
		setenv("XDG_CACHE_HOME", "/xdg", 1);
		unsetenv("GATE_CACHE_DIR");
		d = gate_tuf_state_dir("x");
		assert_string_equal(d, "/xdg/gate/tuf/x");
		free(d);
	}
	setenv("GATE_CACHE_DIR", g_tmp, 1);

	assert_int_equal(gate_tuf_now(42), 42);
	setenv("GATE_TIME", "2026-08-25T00:00:00Z", 1);
	assert_int_equal(gate_tuf_now(0), 1787616000);
	assert_int_equal(gate_tuf_now(5), 5);
	setenv("GATE_TIME", "yesterday", 1);
	int64_t t = gate_tuf_now(0);
	assert_true(t > 1700000000 && t - (int64_t)time(NULL) < 5);
	unsetenv("GATE_TIME");

	struct gate_tuf_caps c, def;
	gate_tuf_caps_default(&def);
	setenv("GATE_TUF_TIMEOUT", "7", 1);
	setenv("GATE_TUF_LOW_SPEED_TIME", "0", 1);
	setenv("GATE_TUF_CONNECT_TIMEOUT", "x", 1);
	setenv("GATE_TUF_LOW_SPEED_LIMIT", "-3", 1);
	gate_tuf_caps_env(&c);
	assert_int_equal(c.fetch.total_timeout, 7);
	assert_int_equal(c.fetch.low_speed_time, def.fetch.low_speed_time);
	assert_int_equal(c.fetch.connect_timeout, def.fetch.connect_timeout);
	assert_int_equal(c.fetch.low_speed_limit, def.fetch.low_speed_limit);
	assert_int_equal(c.timestamp_max, def.timestamp_max);
	unsetenv("GATE_TUF_TIMEOUT");
	unsetenv("GATE_TUF_LOW_SPEED_TIME");
	unsetenv("GATE_TUF_CONNECT_TIMEOUT");
	unsetenv("GATE_TUF_LOW_SPEED_LIMIT");
}

/* ---- the embedded root when there is no cache ---- */

static void test_best_without_cache(void **state)
{
	(void)state;
	struct gate_trusted_root *tr = NULL;
	struct gate_trust_info info;
	struct gate_error err = {0};
	expect_rc(gate_trusted_root_best(P("empty"), 0, &tr, &info, &err), &err, GATE_OK, "best");
	assert_non_null(tr);
	assert_int_equal(info.source, GATE_TRUST_EMBEDDED);
	assert_non_null(strstr(info.why, "never updated"));
	assert_int_equal(info.embedded_root_version, 15);
	assert_int_equal(info.embedded_root_expires, 1795183098);
	gate_trusted_root_free(tr);
	/* NULL info and the default directory work too. */
	tr = NULL;
	expect_rc(gate_trusted_root_best(NULL, 0, &tr, NULL, &err), &err, GATE_OK, "best default");
	gate_trusted_root_free(tr);
}

/* ---- a repository through file:// ---- */

struct keys {
	struct gate_tuf_rkey *root1, *root2, *ts, *sn, *tg, *ts2;
};

static struct gate_tuf_rkey *mkkey(const char *name, const char *alg)
{
	struct gate_error err = {0};
	char priv[600], pub[600];
	struct gate_tuf_rkey *k = NULL;
	snprintf(priv, sizeof priv, "%s/%s.key", g_tmp, name);
	snprintf(pub, sizeof pub, "%s/%s.pub", g_tmp, name);
	unlink(priv);
	unlink(pub);
	expect_rc(gate_keygen_write(priv, pub, alg, NULL, &err), &err, GATE_OK, "keygen");
	expect_rc(gate_tuf_rkey_load(priv, NULL, false, &k, &err), &err, GATE_OK, "load key");
	assert_true(gate_tuf_rkey_private(k));
	assert_int_equal(strlen(gate_tuf_rkey_id(k)), 64);
	return k;
}

static void keys_make(struct keys *k)
{
	k->root1 = mkkey("root1", "ed25519");
	k->root2 = mkkey("root2", "ecdsa-p256");
	k->ts = mkkey("ts", "ed25519");
	k->sn = mkkey("sn", "ecdsa-p256");
	k->tg = mkkey("tg", "ed25519");
	k->ts2 = mkkey("ts2", "ecdsa-p256");
}

static void keys_free(struct keys *k)
{
	gate_tuf_rkey_free(k->root1);
	gate_tuf_rkey_free(k->root2);
	gate_tuf_rkey_free(k->ts);
	gate_tuf_rkey_free(k->sn);
	gate_tuf_rkey_free(k->tg);
	gate_tuf_rkey_free(k->ts2);
}

static void add_key(struct gate_tuf_repo_params *p, enum gate_tuf_type role,
		    struct gate_tuf_rkey *k)
{
	p->keys[p->nkeys].role = role;
	p->keys[p->nkeys].key = k;
	p->nkeys++;
}

static void params(struct gate_tuf_repo_params *p, const struct keys *k, const char *dir)
{
	memset(p, 0, sizeof(*p));
	p->dir = dir;
	add_key(p, GATE_TUF_ROOT, k->root1);
	add_key(p, GATE_TUF_ROOT, k->root2);
	add_key(p, GATE_TUF_TIMESTAMP, k->ts);
	add_key(p, GATE_TUF_SNAPSHOT, k->sn);
	add_key(p, GATE_TUF_TARGETS, k->tg);
}

static enum gate_err update(const char *repo, const char *cache, int64_t now,
			    struct gate_tuf_cache_state *st, struct gate_error *err)
{
	static const char *const req[] = {"trusted_root.json", NULL};
	char murl[600], turl[600], root[600];
	uint8_t *rb = NULL;
	size_t rl = 0;
	snprintf(murl, sizeof murl, "file://%s/metadata/", repo);
	snprintf(turl, sizeof turl, "file://%s/targets/", repo);
	snprintf(root, sizeof root, "%s/metadata/1.root.json", repo);
	assert_int_equal(gate_read_file(root, 1 << 20, &rb, &rl, NULL), GATE_OK);
	struct gate_tuf_cache_opts o = {.dir = cache,
					.metadata_url = murl,
					.targets_url = turl,
					.root = rb,
					.root_len = rl,
					.required = req,
					.now = now};
	enum gate_err rc = gate_tuf_cache_update(&o, st, err);
	free(rb);
	return rc;
}

static void test_repo_and_cache(void **state)
{
	(void)state;
	struct keys k;
	struct gate_tuf_repo_params p;
	struct gate_error err = {0};
	struct gate_tuf_cache_state st;
	struct gate_trusted_root *tr = NULL;
	struct gate_trust_info info;
	char *repo = P("repo"), *cache = P("cache");
	int64_t now = (int64_t)time(NULL);
	keys_make(&k);
	params(&p, &k, repo);
	p.threshold[GATE_TUF_ROOT] = 2;
	p.consistent_snapshot = true;
	expect_rc(gate_tuf_repo_init(&p, &err), &err, GATE_OK, "init");
	expect_rc(gate_tuf_repo_init(&p, &err), &err, GATE_E_USAGE, "init twice");
	const char *files[] = {TRUSTED_ROOT};
	const char *paths[] = {"trusted_root.json"};
	expect_rc(gate_tuf_repo_add(&p, files, paths, 1, &err), &err, GATE_OK, "add");

	/* An update through file:// and the cached root in use. */
	expect_rc(update(repo, cache, 0, &st, &err), &err, GATE_OK, "update");
	assert_int_equal(st.version[GATE_TUF_ROOT], 1);
	assert_int_equal(st.version[GATE_TUF_TIMESTAMP], 2);
	assert_int_equal(st.version[GATE_TUF_SNAPSHOT], 2);
	assert_int_equal(st.version[GATE_TUF_TARGETS], 2);
	assert_true(st.downloaded);
	assert_true(st.last_update >= now);
	expect_rc(gate_trusted_root_best(cache, 0, &tr, &info, &err), &err, GATE_OK, "best");
	assert_int_equal(info.source, GATE_TRUST_CACHE);
	assert_int_equal(info.state.version[GATE_TUF_TIMESTAMP], 2);
	assert_true(tr->ntlogs >= 1);
	gate_trusted_root_free(tr);
	tr = NULL;

	/* Two days later the timestamp (1 day) has expired: embedded. */
	expect_rc(gate_trusted_root_best(cache, now + 2 * 86400, &tr, &info, &err), &err, GATE_OK,
		  "best expired");
	assert_int_equal(info.source, GATE_TRUST_EMBEDDED);
	assert_non_null(strstr(info.why, "expired metadata: possible freeze attack: timestamp"));
	gate_trusted_root_free(tr);
	tr = NULL;

	/* An update in progress (its lock held, downloads running): readers
	 * do not wait for it, they use the last good metadata. */
	char lockp[600];
	snprintf(lockp, sizeof lockp, "%s/.lock", cache);
	int fd = open(lockp, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	expect_rc(gate_trusted_root_best(cache, 0, &tr, &info, &err), &err, GATE_OK, "updating");
	assert_int_equal(info.source, GATE_TRUST_CACHE);
	close(fd);
	gate_trusted_root_free(tr);
	tr = NULL;

	/* A swap that does not finish (its lock held): readers give up after
	 * a bounded wait and use the embedded root. */
	snprintf(lockp, sizeof lockp, "%s/.swap", cache);
	fd = open(lockp, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	expect_rc(gate_trusted_root_best(cache, 0, &tr, &info, &err), &err, GATE_OK, "locked");
	assert_int_equal(info.source, GATE_TRUST_EMBEDDED);
	assert_non_null(strstr(info.why, "being swapped in"));
	close(fd);
	gate_trusted_root_free(tr);
	tr = NULL;

	/* Rotation: root v2 replaces the timestamp key (the old one is
	 * revoked) and raises nothing else. */
	params(&p, &k, repo);
	p.set_keys[0].role = GATE_TUF_TIMESTAMP;
	p.set_keys[0].key = k.ts2;
	p.nset_keys = 1;
	expect_rc(gate_tuf_repo_sign(&p, 1u << GATE_TUF_ROOT, &err), &err, GATE_OK, "rotate");
	/* The revoked key can no longer sign the timestamp. */
	params(&p, &k, repo);
	expect_rc(gate_tuf_repo_sign(&p, 1u << GATE_TUF_TIMESTAMP, &err), &err, GATE_E_USAGE,
		  "revoked key");
	add_key(&p, GATE_TUF_TIMESTAMP, k.ts2);
	expect_rc(gate_tuf_repo_sign(&p, 1u << GATE_TUF_TIMESTAMP, &err), &err, GATE_OK, "new key");
	expect_rc(update(repo, cache, 0, &st, &err), &err, GATE_OK, "update after rotation");
	assert_int_equal(st.initial_root, 1);
	assert_int_equal(st.version[GATE_TUF_ROOT], 2);
	assert_int_equal(st.version[GATE_TUF_TIMESTAMP], 3);
	assert_false(st.downloaded); /* trusted_root.json unchanged, cached */

	/* A new root needs the threshold of the old root keys too. */
	params(&p, &k, repo);
	p.nkeys = 1; /* root1 only: 1 of 2 */
	expect_rc(gate_tuf_repo_sign(&p, 1u << GATE_TUF_ROOT, &err), &err, GATE_E_USAGE,
		  "root below threshold");
	assert_non_null(strstr(err.msg, "needs 2 signatures"));
	/* Keys change only with a new root. */
	params(&p, &k, repo);
	p.threshold[GATE_TUF_TARGETS] = 1;
	expect_rc(gate_tuf_repo_sign(&p, 1u << GATE_TUF_TARGETS, &err), &err, GATE_E_USAGE,
		  "threshold without root");
	/* A threshold above the key count. */
	params(&p, &k, repo);
	p.threshold[GATE_TUF_TARGETS] = 2;
	expect_rc(gate_tuf_repo_sign(&p, 1u << GATE_TUF_ROOT, &err), &err, GATE_E_USAGE,
		  "threshold over keys");

	/* A corrupt cached target: the metadata verifies, the file does not. */
	char tpath[600];
	snprintf(tpath, sizeof tpath, "%s/targets/trusted_root.json", cache);
	FILE *f = fopen(tpath, "a");
	assert_non_null(f);
	fputc(' ', f);
	fclose(f);
	expect_rc(gate_trusted_root_best(cache, 0, &tr, &info, &err), &err, GATE_OK, "corrupt");
	assert_int_equal(info.source, GATE_TRUST_EMBEDDED);
	assert_non_null(strstr(info.why, "no verified copy"));
	gate_trusted_root_free(tr);
	tr = NULL;
	/* The next update repairs it (downloads again). */
	expect_rc(update(repo, cache, 0, &st, &err), &err, GATE_OK, "repair");
	assert_true(st.downloaded);
	expect_rc(gate_trusted_root_best(cache, 0, &tr, &info, &err), &err, GATE_OK, "repaired");
	assert_int_equal(info.source, GATE_TRUST_CACHE);
	gate_trusted_root_free(tr);

	/* A required target the repository does not list. */
	static const char *const missing[] = {"nope.json", NULL};
	char murl[600];
	snprintf(murl, sizeof murl, "file://%s/metadata/", repo);
	struct gate_tuf_cache_opts o = {.dir = cache, .metadata_url = murl, .required = missing};
	expect_rc(gate_tuf_cache_update(&o, &st, &err), &err, GATE_E_MISMATCH, "missing target");
	keys_free(&k);
}

static void test_repo_refusals(void **state)
{
	(void)state;
	struct keys k;
	struct gate_tuf_repo_params p;
	struct gate_error err = {0};
	struct gate_tuf_rkey *rk = NULL;
	keys_make(&k);

	/* A role without keys; a threshold above the keys. */
	memset(&p, 0, sizeof p);
	p.dir = P("r1");
	add_key(&p, GATE_TUF_ROOT, k.root1);
	expect_rc(gate_tuf_repo_init(&p, &err), &err, GATE_E_USAGE, "no timestamp key");
	assert_non_null(strstr(err.msg, "no key for this role"));
	params(&p, &k, P("r2"));
	p.threshold[GATE_TUF_ROOT] = 3;
	expect_rc(gate_tuf_repo_init(&p, &err), &err, GATE_E_USAGE, "threshold 3 of 2");
	/* Public keys only: nobody can sign. */
	params(&p, &k, P("r3"));
	struct gate_tuf_rkey *pub = NULL;
	expect_rc(gate_tuf_rkey_load(P("tg.pub"), NULL, true, &pub, &err), &err, GATE_OK, "pub");
	assert_false(gate_tuf_rkey_private(pub));
	assert_string_equal(gate_tuf_rkey_id(pub), gate_tuf_rkey_id(k.tg));
	p.keys[4].key = pub; /* targets: public only */
	expect_rc(gate_tuf_repo_init(&p, &err), &err, GATE_E_USAGE, "public targets key");
	gate_tuf_rkey_free(pub);
	expect_rc(gate_tuf_rkey_load(P("tg.pub"), NULL, false, &rk, &err), &err, GATE_E_PARSE,
		  "public where private is needed");

	/* Bad target paths. */
	params(&p, &k, P("r4"));
	expect_rc(gate_tuf_repo_init(&p, &err), &err, GATE_OK, "init r4");
	static const char *const bad[] = {"../x", "/abs", "a//b", "a/./b",
					  "a/",	  "",	  "a\\b", "a\nb"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *files[] = {TRUSTED_ROOT};
		expect_rc(gate_tuf_repo_add(&p, files, &bad[i], 1, &err), &err, GATE_E_USAGE,
			  bad[i]);
	}
	/* Keys: P-384 and RSA are refused; a wrong passphrase is a key
	 * error. */
	assert_int_equal(gate_keygen_write(P("p384.key"), P("p384.pub"), "ecdsa-p384", NULL, &err),
			 GATE_OK);
	expect_rc(gate_tuf_rkey_load(P("p384.key"), NULL, false, &rk, &err), &err,
		  GATE_E_UNSUPPORTED, "p384");
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	FILE *f = fopen(P("rsa.key"), "w");
	assert_non_null(rsa);
	assert_non_null(f);
	assert_true(PEM_write_PrivateKey(f, rsa, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	EVP_PKEY_free(rsa);
	expect_rc(gate_tuf_rkey_load(P("rsa.key"), NULL, false, &rk, &err), &err,
		  GATE_E_UNSUPPORTED, "rsa");
	assert_int_equal(gate_keygen_write(P("enc.key"), P("enc.pub"), "ed25519", "s3cret", &err),
			 GATE_OK);
	expect_rc(gate_tuf_rkey_load(P("enc.key"), "wrong", false, &rk, &err), &err, GATE_E_KEY,
		  "wrong passphrase");
	expect_rc(gate_tuf_rkey_load(P("enc.key"), NULL, false, &rk, &err), &err, GATE_E_KEY,
		  "no passphrase");
	expect_rc(gate_tuf_rkey_load(P("enc.key"), "s3cret", false, &rk, &err), &err, GATE_OK,
		  "right passphrase");
	gate_tuf_rkey_free(rk);
	expect_rc(gate_tuf_rkey_load(P("missing.key"), NULL, false, &rk, &err), &err, GATE_E_IO,
		  "missing key");
	keys_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_state_dir_and_now),
		cmocka_unit_test(test_best_without_cache),
		cmocka_unit_test(test_repo_and_cache),
		cmocka_unit_test(test_repo_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
