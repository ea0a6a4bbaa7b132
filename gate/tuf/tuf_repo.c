/* tuf_repo.c - the publishing side of TUF (tuf_repo.h): keys, signing
 * over canonical JSON (spec/TUF.md §2-§3), and the repository files. */
#include "tuf_repo.h"
#include "policy.h"
#include "tuf_trust.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE_MAX (64u * 1024)

struct gate_tuf_rkey {
	EVP_PKEY *pkey;
	bool priv;
	bool ed25519;
	json_t *key; /* the TUF KEY object */
	char id[65];
};

static const char *const role_names[GATE_TUF_NTYPES] = {"root", "timestamp", "snapshot", "targets"};

static enum gate_err nomem(struct gate_error *err)
{
	return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
}

/* ---- keys ---- */

void gate_tuf_rkey_free(struct gate_tuf_rkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	json_decref(k->key);
	free(k);
}

const char *gate_tuf_rkey_id(const struct gate_tuf_rkey *k)
{
	return k->id;
}

bool gate_tuf_rkey_private(const struct gate_tuf_rkey *k)
{
	return k->priv;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pass = u;
	(void)rwflag;
	if (!pass)
		return -1;
	size_t n = strlen(pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pass, n);
	return (int)n;
}

/* The TUF KEY object of k->pkey (spec §3). */
static enum gate_err key_object(struct gate_tuf_rkey *k, const char *path, struct gate_error *err)
{
	json_t *val = NULL;
	char *pem = NULL;
	if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_ED25519) {
		uint8_t raw[32];
		size_t rl = sizeof raw;
		char hex[65];
		if (!EVP_PKEY_get_raw_public_key(k->pkey, raw, &rl) || rl != 32)
			return gate_fail(err, GATE_E_PARSE, NULL, path, "unusable Ed25519 key");
		gate_hex_encode(raw, 32, hex);
		k->ed25519 = true;
		val = json_string(hex);
		k->key = json_pack("{s:s,s:s,s:{s:o}}", "keytype", "ed25519", "scheme", "ed25519",
				   "keyval", "public", val);
	} else if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC) {
		char group[64] = "";
		size_t gl = 0;
		BIO *b = BIO_new(BIO_s_mem());
		BUF_MEM *bm = NULL;
		if (!EVP_PKEY_get_group_name(k->pkey, group, sizeof group, &gl) ||
		    strcmp(group, "prime256v1") != 0) {
			BIO_free(b);
			return gate_fail(err, GATE_E_UNSUPPORTED, NULL, path,
					 "ECDSA keys must be on P-256 (ecdsa-sha2-nistp256)");
		}
		if (!b || !PEM_write_bio_PUBKEY(b, k->pkey) || (BIO_get_mem_ptr(b, &bm), !bm) ||
		    !(pem = strndup(bm->data, bm->length))) {
			BIO_free(b);
			return nomem(err);
		}
		BIO_free(b);
		k->key = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "ecdsa", "scheme",
				   "ecdsa-sha2-nistp256", "keyval", "public", pem);
		free(pem);
	} else {
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, path,
				 "only Ed25519 and ECDSA P-256 keys sign TUF metadata here");
	}
	if (!k->key)
		return nomem(err);
	return gate_tuf_keyid(k->key, k->id, err);
}

enum gate_err gate_tuf_rkey_load(const char *path, const char *passphrase, bool allow_public,
				 struct gate_tuf_rkey **out, struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct gate_tuf_rkey *k = NULL;
	BIO *b = NULL;
	enum gate_err rc = gate_read_file(path, KEY_FILE_MAX, &buf, &len, err);
	if (rc != GATE_OK)
		return rc;
	if (!(k = calloc(1, sizeof(*k))) || !(b = BIO_new_mem_buf(buf, (int)len))) {
		rc = nomem(err);
		goto out;
	}
	if ((k->pkey = PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)passphrase))) {
		k->priv = true;
	} else if (strstr((const char *)buf, "ENCRYPTED")) {
		rc = gate_fail(err, GATE_E_KEY, NULL, path,
			       passphrase ? "wrong passphrase" : "encrypted key and no passphrase");
		goto out;
	} else if (allow_public) {
		BIO_free(b);
		if (!(b = BIO_new_mem_buf(buf, (int)len))) {
			rc = nomem(err);
			goto out;
		}
		k->pkey = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	}
	if (!k->pkey) {
		rc = gate_fail(err, GATE_E_PARSE, NULL, path,
			       allow_public ? "not a PEM private or public key"
					    : "not a PEM private key");
		goto out;
	}
	if ((rc = key_object(k, path, err)) != GATE_OK)
		goto out;
	*out = k;
	k = NULL;
out:
	BIO_free(b);
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	gate_tuf_rkey_free(k);
	return rc;
}

/* Hex signature of msg: Ed25519 over the bytes, ECDSA over SHA-256 (DER). */
static char *sign_hex(const struct gate_tuf_rkey *k, const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *sig = NULL;
	char *hex = NULL;
	size_t sl = 0;
	if (ctx && EVP_DigestSignInit(ctx, NULL, k->ed25519 ? NULL : EVP_sha256(), NULL, k->pkey) &&
	    EVP_DigestSign(ctx, NULL, &sl, msg, len) && (sig = malloc(sl)) &&
	    EVP_DigestSign(ctx, sig, &sl, msg, len) && (hex = malloc(2 * sl + 1)))
		gate_hex_encode(sig, sl, hex);
	free(sig);
	EVP_MD_CTX_free(ctx);
	return hex;
}

/* ---- files ---- */

static enum gate_err write_file(const char *path, const uint8_t *data, size_t len,
				struct gate_error *err)
{
	const char *slash = strrchr(path, '/');
	if (slash && slash != path && gate_mkdirs(path, (size_t)(slash - path), 0755) != 0)
		return gate_fail(err, GATE_E_IO, NULL, path, "cannot create its directory: %s",
				 strerror(errno));
	return gate_atomic_write_file(path, NULL, data, len, 0644, 0, err);
}

/* ---- the repository ---- */

struct repo {
	const struct gate_tuf_repo_params *p;
	char *mdir, *tdir;
	json_t *doc[GATE_TUF_NTYPES]; /* current documents (owned) */
	int64_t now;
};

static void repo_free(struct repo *r)
{
	free(r->mdir);
	free(r->tdir);
	for (int i = 0; i < GATE_TUF_NTYPES; i++)
		json_decref(r->doc[i]);
}

static enum gate_err repo_open(struct repo *r, const struct gate_tuf_repo_params *p, bool load,
			       struct gate_error *err)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->now = gate_tuf_now(p->now);
	if (!(r->mdir = gate_path_join(p->dir, "metadata")) ||
	    !(r->tdir = gate_path_join(p->dir, "targets")))
		return nomem(err);
	for (int i = 0; load && i < GATE_TUF_NTYPES; i++) {
		char name[32];
		snprintf(name, sizeof name, "%s.json", role_names[i]);
		char *path = gate_path_join(r->mdir, name);
		json_error_t je;
		if (!path)
			return nomem(err);
		r->doc[i] = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		free(path);
		if (!r->doc[i] || !json_is_object(json_object_get(r->doc[i], "signed")))
			return gate_fail(err, GATE_E_IO, NULL, name,
					 "not a repository made by 'gate tuf repo init': %s",
					 r->doc[i] ? "no \"signed\"" : je.text);
	}
	return GATE_OK;
}

static json_t *signed_of(const struct repo *r, enum gate_tuf_type t)
{
	return json_object_get(r->doc[t], "signed");
}

static int64_t version_of(const struct repo *r, enum gate_tuf_type t)
{
	return json_integer_value(json_object_get(signed_of(r, t), "version"));
}

static void expires_str(const struct repo *r, enum gate_tuf_type t, char out[32])
{
	static const int64_t life[GATE_TUF_NTYPES] = {
		GATE_TUF_REPO_ROOT_LIFE, GATE_TUF_REPO_TIMESTAMP_LIFE, GATE_TUF_REPO_SNAPSHOT_LIFE,
		GATE_TUF_REPO_TARGETS_LIFE};
	gate_format_time(r->p->expires[t] ? r->p->expires[t] : r->now + life[t], out);
}

/* Common fields of a new "signed" object. */
static json_t *new_signed(const struct repo *r, enum gate_tuf_type t, int64_t version)
{
	char exp[32];
	expires_str(r, t, exp);
	return json_pack("{s:s,s:s,s:I,s:s}", "_type", role_names[t], "spec_version", "1.0.31",
			 "version", (json_int_t)version, "expires", exp);
}

static bool in_list(const json_t *keyids, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(keyids, i, v) if (json_is_string(v) &&
					     strcmp(json_string_value(v), id) == 0) return true;
	return false;
}

/* keyids and threshold of role t in a root's "signed". */
static void role_of(const json_t *root_signed, enum gate_tuf_type t, const json_t **keyids,
		    int64_t *threshold)
{
	const json_t *role = json_object_get(json_object_get(root_signed, "roles"), role_names[t]);
	*keyids = json_object_get(role, "keyids");
	*threshold = json_integer_value(json_object_get(role, "threshold"));
}

/* Sign signed_obj as role t: every private key given whose keyid the role
 * (of root_a, and of root_b when not NULL: a new root needs both) lists
 * signs once; each root's threshold must be met. *doc = the envelope. */
static enum gate_err sign_as(const struct repo *r, enum gate_tuf_type t, const json_t *root_a,
			     const json_t *root_b, json_t *signed_obj, json_t **doc,
			     struct gate_error *err)
{
	uint8_t *canon = NULL;
	size_t clen = 0;
	const json_t *ka = NULL, *kb = NULL;
	int64_t ta = 0, tb = 0;
	size_t na = 0, nb = 0;
	json_t *sigs = json_array();
	enum gate_err rc =
		gate_tuf_canonical(signed_obj, GATE_TUF_METADATA_HARD_MAX, &canon, &clen, err);
	if (rc != GATE_OK || !sigs) {
		json_decref(sigs);
		json_decref(signed_obj);
		free(canon);
		return rc != GATE_OK ? rc : nomem(err);
	}
	role_of(root_a, t, &ka, &ta);
	if (root_b)
		role_of(root_b, t, &kb, &tb);
	for (size_t i = 0; i < r->p->nkeys; i++) {
		const struct gate_tuf_rkey *k = r->p->keys[i].key;
		bool dup = false, a = in_list(ka, k->id), b = kb && in_list(kb, k->id);
		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(r->p->keys[j].key->id, k->id) == 0;
		if (dup || !k->priv || (!a && !b))
			continue;
		char *hex = sign_hex(k, canon, clen);
		if (!hex || json_array_append_new(sigs, json_pack("{s:s,s:s}", "keyid", k->id,
								  "sig", hex)) != 0) {
			free(hex);
			rc = nomem(err);
			goto out;
		}
		free(hex);
		na += a;
		nb += b;
	}
	if ((int64_t)na < ta || (root_b && (int64_t)nb < tb)) {
		rc = gate_fail(err, GATE_E_USAGE, NULL, role_names[t],
			       "needs %lld signature%s from its keys, the private keys given make "
			       "%zu (add --key %s=PEM)",
			       (long long)((int64_t)na < ta ? ta : tb),
			       ((int64_t)na < ta ? ta : tb) == 1 ? "" : "s",
			       (int64_t)na < ta ? na : nb, role_names[t]);
		goto out;
	}
	if (!(*doc = json_pack("{s:O,s:O}", "signatures", sigs, "signed", signed_obj)))
		rc = nomem(err);
out:
	free(canon);
	json_decref(sigs);
	json_decref(signed_obj);
	return rc;
}

/* Write doc as role t (and N.t.json when versioned); len and sha (may be
 * NULL) describe the bytes written. */
static enum gate_err publish(struct repo *r, enum gate_tuf_type t, json_t *doc, bool versioned,
			     size_t *len, char sha[65], struct gate_error *err)
{
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	char name[64];
	char *path = NULL;
	enum gate_err rc = GATE_OK;
	if (!text)
		return nomem(err);
	size_t n = strlen(text);
	if (versioned) {
		snprintf(name, sizeof name, "%lld.%s.json",
			 (long long)json_integer_value(
				 json_object_get(json_object_get(doc, "signed"), "version")),
			 role_names[t]);
		if (!(path = gate_path_join(r->mdir, name)))
			rc = nomem(err);
		else
			rc = write_file(path, (const uint8_t *)text, n, err);
		free(path);
		path = NULL;
	}
	snprintf(name, sizeof name, "%s.json", role_names[t]);
	if (rc == GATE_OK && !(path = gate_path_join(r->mdir, name)))
		rc = nomem(err);
	if (rc == GATE_OK)
		rc = write_file(path, (const uint8_t *)text, n, err);
	if (rc == GATE_OK && len)
		*len = n;
	if (rc == GATE_OK && sha) {
		uint8_t h[32];
		gate_sha256(text, n, h);
		gate_hex_encode(h, 32, sha);
	}
	free(path);
	free(text);
	if (rc == GATE_OK) {
		json_decref(r->doc[t]);
		r->doc[t] = json_incref(doc);
	}
	return rc;
}

static bool consistent(const struct repo *r)
{
	return json_is_true(json_object_get(signed_of(r, GATE_TUF_ROOT), "consistent_snapshot"));
}

static json_t *metafile(int64_t version, size_t len, const char *sha)
{
	return json_pack("{s:I,s:I,s:{s:s}}", "version", (json_int_t)version, "length",
			 (json_int_t)len, "hashes", "sha256", sha);
}

/* New versions of targets (with these targets), snapshot and timestamp,
 * in that order. targets NULL = keep them (no new targets version). */
static enum gate_err cascade(struct repo *r, json_t *targets, bool new_snapshot,
			     struct gate_error *err)
{
	const json_t *root = signed_of(r, GATE_TUF_ROOT);
	json_t *s = NULL, *doc = NULL;
	size_t len = 0;
	char sha[65];
	enum gate_err rc = GATE_OK;
	bool cs = consistent(r);
	if (targets) {
		s = new_signed(r, GATE_TUF_TARGETS, version_of(r, GATE_TUF_TARGETS) + 1);
		if (!s || json_object_set_new(s, "targets", targets) != 0) {
			json_decref(s);
			return nomem(err);
		}
		if ((rc = sign_as(r, GATE_TUF_TARGETS, root, NULL, s, &doc, err)) != GATE_OK ||
		    (rc = publish(r, GATE_TUF_TARGETS, doc, cs, NULL, NULL, err)) != GATE_OK)
			goto out;
		json_decref(doc);
		doc = NULL;
		new_snapshot = true;
	}
	if (new_snapshot) {
		/* The bytes of the current targets.json, as clients get them. */
		char *tpath = gate_path_join(r->mdir, "targets.json");
		uint8_t *tb = NULL, h[32];
		size_t tl = 0;
		if (!tpath || (rc = gate_read_file(tpath, GATE_TUF_METADATA_HARD_MAX, &tb, &tl,
						   err)) != GATE_OK) {
			free(tpath);
			return tpath ? rc : nomem(err);
		}
		free(tpath);
		gate_sha256(tb, tl, h);
		free(tb);
		gate_hex_encode(h, 32, sha);
		s = new_signed(r, GATE_TUF_SNAPSHOT, version_of(r, GATE_TUF_SNAPSHOT) + 1);
		if (!s || json_object_set_new(s, "meta",
					      json_pack("{s:o}", "targets.json",
							metafile(version_of(r, GATE_TUF_TARGETS),
								 tl, sha))) != 0) {
			json_decref(s);
			return nomem(err);
		}
		if ((rc = sign_as(r, GATE_TUF_SNAPSHOT, root, NULL, s, &doc, err)) != GATE_OK ||
		    (rc = publish(r, GATE_TUF_SNAPSHOT, doc, cs, &len, sha, err)) != GATE_OK)
			goto out;
		json_decref(doc);
		doc = NULL;
	} else {
		char *spath = gate_path_join(r->mdir, "snapshot.json");
		uint8_t *sb = NULL, h[32];
		if (!spath || (rc = gate_read_file(spath, GATE_TUF_METADATA_HARD_MAX, &sb, &len,
						   err)) != GATE_OK) {
			free(spath);
			return spath ? rc : nomem(err);
		}
		free(spath);
		gate_sha256(sb, len, h);
		free(sb);
		gate_hex_encode(h, 32, sha);
	}
	s = new_signed(r, GATE_TUF_TIMESTAMP, version_of(r, GATE_TUF_TIMESTAMP) + 1);
	if (!s || json_object_set_new(
			  s, "meta",
			  json_pack("{s:o}", "snapshot.json",
				    metafile(version_of(r, GATE_TUF_SNAPSHOT), len, sha))) != 0) {
		json_decref(s);
		return nomem(err);
	}
	if ((rc = sign_as(r, GATE_TUF_TIMESTAMP, root, NULL, s, &doc, err)) == GATE_OK)
		rc = publish(r, GATE_TUF_TIMESTAMP, doc, false, NULL, NULL, err);
out:
	json_decref(doc);
	return rc;
}

/* ---- init ---- */

static enum gate_err root_roles(const struct gate_tuf_repo_key *keys, size_t nkeys,
				const int64_t *threshold, const json_t *old_signed, json_t *s,
				struct gate_error *err)
{
	json_t *ktab = json_object(), *roles = json_object();
	if (!ktab || !roles || json_object_set_new(s, "keys", ktab) != 0 ||
	    json_object_set_new(s, "roles", roles) != 0)
		return nomem(err);
	for (int t = 0; t < GATE_TUF_NTYPES; t++) {
		const json_t *oldids = NULL;
		int64_t oldth = 0;
		json_t *ids = json_array();
		size_t n = 0;
		if (old_signed)
			role_of(old_signed, (enum gate_tuf_type)t, &oldids, &oldth);
		for (size_t i = 0; i < nkeys; i++) {
			if (keys[i].role != (enum gate_tuf_type)t || in_list(ids, keys[i].key->id))
				continue;
			json_array_append_new(ids, json_string(keys[i].key->id));
			json_object_set(ktab, keys[i].key->id, keys[i].key->key);
			n++;
		}
		if (n == 0 && oldids) {
			/* Role not re-keyed: keep its keys. */
			size_t i;
			json_t *v;
			json_array_foreach(oldids, i, v)
			{
				json_t *k = json_object_get(json_object_get(old_signed, "keys"),
							    json_string_value(v));
				if (!k)
					continue;
				json_array_append(ids, v);
				json_object_set(ktab, json_string_value(v), k);
				n++;
			}
		}
		int64_t th = threshold[t] ? threshold[t] : oldth ? oldth : 1;
		if (n == 0) {
			json_decref(ids);
			return gate_fail(err, GATE_E_USAGE, NULL, role_names[t],
					 "no key for this role (give --key %s=PEM)", role_names[t]);
		}
		if (th < 1 || th > (int64_t)n) {
			json_decref(ids);
			return gate_fail(err, GATE_E_USAGE, NULL, role_names[t],
					 "threshold %lld, but the role has %zu key%s",
					 (long long)th, n, n == 1 ? "" : "s");
		}
		if (json_object_set_new(roles, role_names[t],
					json_pack("{s:o,s:I}", "keyids", ids, "threshold",
						  (json_int_t)th)) != 0)
			return nomem(err);
	}
	return GATE_OK;
}

enum gate_err gate_tuf_repo_init(const struct gate_tuf_repo_params *p, struct gate_error *err)
{
	struct repo r;
	json_t *s = NULL, *doc = NULL;
	enum gate_err rc = repo_open(&r, p, false, err);
	struct stat st;
	char *rootpath = NULL;
	if (rc != GATE_OK)
		goto out;
	if (!(rootpath = gate_path_join(r.mdir, "root.json"))) {
		rc = nomem(err);
		goto out;
	}
	if (stat(rootpath, &st) == 0) {
		rc = gate_fail(err, GATE_E_USAGE, NULL, p->dir, "is already a TUF repository");
		goto out;
	}
	if (!(s = new_signed(&r, GATE_TUF_ROOT, 1)) ||
	    json_object_set_new(s, "consistent_snapshot", json_boolean(p->consistent_snapshot))) {
		rc = nomem(err);
		goto out;
	}
	if ((rc = root_roles(p->keys, p->nkeys, p->threshold, NULL, s, err)) != GATE_OK)
		goto out;
	json_t *root_signed = json_incref(s);
	rc = sign_as(&r, GATE_TUF_ROOT, root_signed, NULL, s, &doc, err);
	s = NULL;
	json_decref(root_signed);
	if (rc != GATE_OK ||
	    (rc = publish(&r, GATE_TUF_ROOT, doc, true, NULL, NULL, err)) != GATE_OK)
		goto out;
	/* Version 0 + 1: the first targets and snapshot. */
	r.doc[GATE_TUF_TARGETS] = json_pack("{s:{s:i}}", "signed", "version", 0);
	r.doc[GATE_TUF_SNAPSHOT] = json_pack("{s:{s:i}}", "signed", "version", 0);
	r.doc[GATE_TUF_TIMESTAMP] = json_pack("{s:{s:i}}", "signed", "version", 0);
	if (gate_mkdirs(r.tdir, strlen(r.tdir), 0755) != 0) {
		rc = gate_fail(err, GATE_E_IO, NULL, r.tdir, "cannot create: %s", strerror(errno));
		goto out;
	}
	rc = cascade(&r, json_object(), true, err);
out:
	json_decref(s);
	json_decref(doc);
	free(rootpath);
	repo_free(&r);
	return rc;
}

/* ---- add ---- */

static bool good_path(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > GATE_TUF_MAX_NAME || p[0] == '/' || p[n - 1] == '/')
		return false;
	for (const char *s = p; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\')
			return false;
	for (const char *c = p; c;) {
		const char *e = strchr(c, '/');
		size_t l = e ? (size_t)(e - c) : strlen(c);
		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = e ? e + 1 : NULL;
	}
	return true;
}

/* Copy file into the repository as target path; fills length and sha256. */
static enum gate_err copy_target(struct repo *r, const char *file, const char *path, json_t **entry,
				 struct gate_error *err)
{
	uint8_t *data = NULL, h[32];
	size_t len = 0;
	char hex[65], *dst = NULL, *cdst = NULL;
	enum gate_err rc = gate_read_file(file, (size_t)GATE_TUF_REPO_MAX_FILE, &data, &len, err);
	if (rc != GATE_OK)
		return rc;
	gate_sha256(data, len, h);
	gate_hex_encode(h, 32, hex);
	if (!(dst = gate_path_join(r->tdir, path))) {
		rc = nomem(err);
		goto out;
	}
	if ((rc = write_file(dst, data, len, err)) != GATE_OK)
		goto out;
	if (consistent(r)) {
		/* dir/HASH.name (T25). */
		const char *slash = strrchr(path, '/');
		int n = slash ? asprintf(&cdst, "%s/%.*s/%s.%s", r->tdir, (int)(slash - path), path,
					 hex, slash + 1)
			      : asprintf(&cdst, "%s/%s.%s", r->tdir, hex, path);
		if (n < 0) {
			cdst = NULL;
			rc = nomem(err);
			goto out;
		}
		if ((rc = write_file(cdst, data, len, err)) != GATE_OK)
			goto out;
	}
	if (!(*entry = json_pack("{s:I,s:{s:s}}", "length", (json_int_t)len, "hashes", "sha256",
				 hex)))
		rc = nomem(err);
out:
	free(data);
	free(dst);
	free(cdst);
	return rc;
}

enum gate_err gate_tuf_repo_add(const struct gate_tuf_repo_params *p, const char *const *files,
				const char *const *paths, size_t n, struct gate_error *err)
{
	struct repo r;
	json_t *targets = NULL;
	enum gate_err rc = repo_open(&r, p, true, err);
	if (rc != GATE_OK)
		goto out;
	targets = json_deep_copy(json_object_get(signed_of(&r, GATE_TUF_TARGETS), "targets"));
	if (!targets)
		targets = json_object();
	if (!targets) {
		rc = nomem(err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = NULL;
		if (!good_path(paths[i])) {
			rc = gate_fail(
				err, GATE_E_USAGE, NULL, paths[i],
				"a target path is relative, '/'-separated, without '.', '..' "
				"or empty components");
			goto out;
		}
		if ((rc = copy_target(&r, files[i], paths[i], &e, err)) != GATE_OK)
			goto out;
		if (json_object_set_new(targets, paths[i], e) != 0) {
			rc = nomem(err);
			goto out;
		}
	}
	rc = cascade(&r, targets, true, err);
	targets = NULL;
out:
	json_decref(targets);
	repo_free(&r);
	return rc;
}

/* ---- sign ---- */

static enum gate_err new_root(struct repo *r, struct gate_error *err)
{
	const json_t *old = signed_of(r, GATE_TUF_ROOT);
	json_t *s = new_signed(r, GATE_TUF_ROOT, version_of(r, GATE_TUF_ROOT) + 1), *doc = NULL;
	enum gate_err rc;
	if (!s || json_object_set(s, "consistent_snapshot",
				  json_object_get(old, "consistent_snapshot")
					  ? json_object_get(old, "consistent_snapshot")
					  : json_false()) != 0) {
		json_decref(s);
		return nomem(err);
	}
	if ((rc = root_roles(r->p->set_keys, r->p->nset_keys, r->p->threshold, old, s, err)) !=
	    GATE_OK) {
		json_decref(s);
		return rc;
	}
	json_t *ns = json_incref(s);
	rc = sign_as(r, GATE_TUF_ROOT, old, ns, s, &doc, err);
	json_decref(ns);
	if (rc == GATE_OK)
		rc = publish(r, GATE_TUF_ROOT, doc, true, NULL, NULL, err);
	json_decref(doc);
	return rc;
}

enum gate_err gate_tuf_repo_sign(const struct gate_tuf_repo_params *p, unsigned roles,
				 struct gate_error *err)
{
	struct repo r;
	enum gate_err rc = repo_open(&r, p, true, err);
	if (rc == GATE_OK && (roles & (1u << GATE_TUF_ROOT)))
		rc = new_root(&r, err);
	else if (rc == GATE_OK &&
		 (p->nset_keys || p->threshold[GATE_TUF_ROOT] || p->threshold[GATE_TUF_TIMESTAMP] ||
		  p->threshold[GATE_TUF_SNAPSHOT] || p->threshold[GATE_TUF_TARGETS]))
		rc = gate_fail(err, GATE_E_USAGE, NULL, NULL,
			       "keys and thresholds change only with a new root (sign root)");
	if (rc == GATE_OK && (roles & ~(1u << GATE_TUF_ROOT))) {
		json_t *targets = NULL;
		if (roles & (1u << GATE_TUF_TARGETS)) {
			targets = json_deep_copy(
				json_object_get(signed_of(&r, GATE_TUF_TARGETS), "targets"));
			if (!targets && !(targets = json_object()))
				rc = nomem(err);
		}
		if (rc == GATE_OK)
			rc = cascade(&r, targets, (roles & (1u << GATE_TUF_SNAPSHOT)) != 0, err);
	}
	repo_free(&r);
	return rc;
}
