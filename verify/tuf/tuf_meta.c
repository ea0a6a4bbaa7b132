/* tuf_meta.c - TUF metadata (spec/TUF.md §1): the signed envelope, the
 * typed model of root/timestamp/snapshot/targets, and the pure helpers of
 * the client workflow over it (expiry, lookups, hashes, the root steps).
 * Canonical JSON is in tuf_canon.c, keys and thresholds in tuf_keys.c,
 * path patterns, hash bins and quoting in tuf_paths.c. */
#include "internal.h"
#include "tuf_meta_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[GATE_TUF_NTYPES] = {"root", "timestamp", "snapshot", "targets"};

const char *gate_tuf_type_name(enum gate_tuf_type t)
{
	return (unsigned)t < GATE_TUF_NTYPES ? type_names[t] : "?";
}

/* ---- small typed accessors (null = absent, as gate_json_str does) ---- */

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_null(v) ? NULL : v;
}

/* An integer member >= min; booleans and floats are not integers. */
static enum gate_err get_int(json_t *obj, const char *key, bool required, int64_t min, int64_t *out,
			     bool *present, const char *field, struct gate_error *err)
{
	json_t *v = member(obj, key);
	if (present)
		*present = v != NULL;
	if (!v) {
		if (required)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "missing \"%s\"", key);
		return GATE_OK;
	}
	if (!json_is_integer(v))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"%s\" is not an integer",
				 key);
	json_int_t i = json_integer_value(v);
	if (i < min)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"%s\" is %lld, below %lld",
				 key, (long long)i, (long long)min);
	*out = (int64_t)i;
	return GATE_OK;
}

static enum gate_err get_bool(json_t *obj, const char *key, bool required, bool *out,
			      const char *field, struct gate_error *err)
{
	json_t *v = member(obj, key);
	if (!v) {
		if (required)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "missing \"%s\"", key);
		return GATE_OK;
	}
	if (!json_is_boolean(v))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"%s\" is not a boolean", key);
	*out = json_is_true(v);
	return GATE_OK;
}

enum gate_err gate_tuf_get_str(json_t *obj, const char *key, bool required, const char **out,
			       const char *field, struct gate_error *err)
{
	enum gate_err rc = gate_json_str(obj, key, required, out, field, err);
	if (rc == GATE_OK && *out && strlen(*out) > GATE_TUF_MAX_NAME)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "\"%s\" is too long", key);
	return rc;
}

/* A member that must be an object / array (null = absent). */
enum gate_err gate_tuf_get_typed(json_t *obj, const char *key, bool required, json_type type,
				 json_t **out, const char *field, struct gate_error *err)
{
	json_t *v = member(obj, key);
	*out = NULL;
	if (!v) {
		if (required)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "missing \"%s\"", key);
		return GATE_OK;
	}
	if (json_typeof(v) != type)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"%s\" is not %s", key,
				 type == JSON_OBJECT ? "an object" : "an array");
	*out = v;
	return GATE_OK;
}

/* Whether the n strings have a duplicate (sorted copy, O(n log n)). */
static enum gate_err has_duplicate(const char *const *v, size_t n, bool *dup)
{
	*dup = false;
	if (n < 2)
		return GATE_OK;
	const char **s = malloc(n * sizeof(*s));
	if (!s)
		return GATE_E_NOMEM;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), gate_tuf_cmp_cstr);
	for (size_t i = 1; i < n && !*dup; i++)
		*dup = strcmp(s[i - 1], s[i]) == 0;
	free(s);
	return GATE_OK;
}

/* Array of strings into a malloc'd vector of borrowed pointers. */
static enum gate_err str_array(json_t *arr, size_t max, const char ***out, size_t *n,
			       const char *field, struct gate_error *err)
{
	size_t len = json_array_size(arr);
	*out = NULL;
	*n = 0;
	if (len > max)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu entries, over %zu",
				 len, max);
	if (len == 0)
		return GATE_OK;
	const char **v = calloc(len, sizeof(*v));
	if (!v)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	for (size_t i = 0; i < len; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s) ||
		    json_string_length(s) > GATE_TUF_MAX_NAME) {
			free(v);
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
					 "entry %zu is not a string", i);
		}
		v[i] = json_string_value(s);
	}
	*out = v;
	*n = len;
	return GATE_OK;
}

/* keyids (distinct: a repeated keyid makes the metadata invalid, spec §1)
 * and threshold >= 1. */
static enum gate_err role_load(json_t *obj, struct gate_tuf_role *r, const char *field,
			       struct gate_error *err)
{
	json_t *arr;
	bool dup;
	enum gate_err rc;
	if (!json_is_object(obj))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "role is not an object");
	if ((rc = gate_tuf_get_typed(obj, "keyids", true, JSON_ARRAY, &arr, field, err)) !=
		    GATE_OK ||
	    (rc = str_array(arr, GATE_TUF_MAX_KEYIDS, &r->keyids, &r->nkeyids, field, err)) !=
		    GATE_OK ||
	    (rc = get_int(obj, "threshold", true, 1, &r->threshold, NULL, field, err)) != GATE_OK)
		return rc;
	if (has_duplicate(r->keyids, r->nkeyids, &dup) != GATE_OK)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	if (dup)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "a keyid appears twice");
	return GATE_OK;
}

/* ---- METAFILE / TARGETFILE ---- */

static enum gate_err hashes_load(json_t *obj, struct gate_tuf_file *f, const char *field,
				 struct gate_error *err)
{
	const char *alg;
	json_t *v;
	size_t n = json_object_size(obj);
	if (n == 0)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "\"hashes\" is empty");
	if (n > GATE_TUF_MAX_HASHES)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu hashes, over %u", n,
				 GATE_TUF_MAX_HASHES);
	if (!(f->hashes = calloc(n, sizeof(*f->hashes))))
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	/* Document order is kept: the first hash names consistent-snapshot
	 * targets (T25). jansson keeps insertion order. */
	json_object_foreach(obj, alg, v)
	{
		if (f->nhashes >= n)
			break;
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    json_string_length(v) > 1024)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
					 "hash \"%.32s\" is not a string", alg);
		f->hashes[f->nhashes].alg = alg;
		f->hashes[f->nhashes].hex = json_string_value(v);
		f->nhashes++;
	}
	return GATE_OK;
}

static enum gate_err file_load(json_t *obj, const char *name, bool target, struct gate_tuf_file *f,
			       const char *field, struct gate_error *err)
{
	json_t *hashes, *custom;
	bool has_len = false;
	enum gate_err rc;
	f->name = name;
	f->length = -1;
	if (strlen(name) > GATE_TUF_MAX_NAME)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "name too long");
	if (!json_is_object(obj))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "not an object");
	if (!target &&
	    (rc = get_int(obj, "version", true, 1, &f->version, NULL, field, err)) != GATE_OK)
		return rc;
	if ((rc = get_int(obj, "length", target, 0, &f->length, &has_len, field, err)) != GATE_OK)
		return rc;
	if (!has_len)
		f->length = -1;
	if ((rc = gate_tuf_get_typed(obj, "hashes", target, JSON_OBJECT, &hashes, field, err)) !=
	    GATE_OK)
		return rc;
	if (hashes && (rc = hashes_load(hashes, f, field, err)) != GATE_OK)
		return rc;
	if (target) {
		if ((rc = gate_tuf_get_typed(obj, "custom", false, JSON_OBJECT, &custom, field,
					     err)) != GATE_OK)
			return rc;
		f->custom = custom;
	}
	return GATE_OK;
}

static void files_free(struct gate_tuf_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].hashes);
	free(v);
}

/* Every member of obj as a file; *out sized to the object. */
static enum gate_err files_load(json_t *obj, bool target, size_t max, struct gate_tuf_file **out,
				size_t *nout, const char *field, struct gate_error *err)
{
	const char *name;
	json_t *v;
	char fname[160];
	size_t n = json_object_size(obj);
	if (n > max)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu entries, over %zu", n,
				 max);
	if (n && !(*out = calloc(n, sizeof(**out))))
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	json_object_foreach(obj, name, v)
	{
		if (*nout >= n)
			break;
		snprintf(fname, sizeof fname, "%s[%.80s]", field, name);
		enum gate_err rc = file_load(v, name, target, &(*out)[*nout], fname, err);
		(*nout)++;
		if (rc != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

/* ---- envelope ---- */

void gate_tuf_md_free(struct gate_tuf_md *md)
{
	if (!md)
		return;
	for (size_t i = 0; i < md->nsigs; i++)
		free(md->sigs[i].sig);
	free(md->sigs);
	free(md->canon);
	gate_tuf_keys_clear(&md->keys);
	for (int i = 0; i < GATE_TUF_NTYPES; i++)
		free(md->roles[i].keyids);
	free(md->snapshot_meta.hashes);
	files_free(md->meta, md->nmeta);
	files_free(md->targets, md->ntargets);
	gate_tuf_keys_clear(&md->dkeys);
	for (size_t i = 0; i < md->ndroles; i++) {
		free(md->droles[i].role.keyids);
		free(md->droles[i].paths);
		free(md->droles[i].prefixes);
	}
	free(md->droles);
	free(md->succinct.role.keyids);
	json_decref(md->doc);
	free(md);
}

static enum gate_err sigs_load(struct gate_tuf_md *md, json_t *arr, struct gate_error *err)
{
	size_t n = json_array_size(arr);
	bool dup;
	if (n > GATE_TUF_MAX_SIGNATURES)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", "signatures",
				 "%zu signatures, over %u", n, GATE_TUF_MAX_SIGNATURES);
	if (n && !(md->sigs = calloc(n, sizeof(*md->sigs))))
		return gate_fail(err, GATE_E_NOMEM, NULL, "signatures", "out of memory");
	const char **ids = n ? calloc(n, sizeof(*ids)) : NULL;
	if (n && !ids)
		return gate_fail(err, GATE_E_NOMEM, NULL, "signatures", "out of memory");
	enum gate_err rc = GATE_OK;
	for (size_t i = 0; i < n && rc == GATE_OK; i++) {
		json_t *s = json_array_get(arr, i);
		const char *keyid, *hex;
		if (!json_is_object(s)) {
			rc = gate_fail(err, GATE_E_PARSE, "TUF-1", "signatures",
				       "entry %zu is not an object", i);
			break;
		}
		if ((rc = gate_tuf_get_str(s, "keyid", true, &keyid, "signatures", err)) !=
			    GATE_OK ||
		    (rc = gate_json_str(s, "sig", true, &hex, "signatures", err)) != GATE_OK)
			break;
		struct gate_tuf_sig *g = &md->sigs[md->nsigs++];
		g->keyid = ids[i] = keyid;
		size_t hlen = strlen(hex);
		/* A signature that is not hex (or empty) never verifies: skipped,
		 * not fatal (spec §3, test_invalid_sig_in_valid_metadata). */
		if (hlen == 0 || hlen % 2 || hlen / 2 > GATE_MAX_SIG)
			continue;
		if (!(g->sig = malloc(hlen / 2))) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, "signatures", "out of memory");
			break;
		}
		if (!gate_hex_decode(hex, hlen, g->sig, hlen / 2)) {
			free(g->sig);
			g->sig = NULL;
			continue;
		}
		g->len = hlen / 2;
	}
	if (rc == GATE_OK && has_duplicate(ids, n, &dup) != GATE_OK)
		rc = gate_fail(err, GATE_E_NOMEM, NULL, "signatures", "out of memory");
	else if (rc == GATE_OK && dup)
		rc = gate_fail(err, GATE_E_PARSE, "TUF-1", "signatures",
			       "a keyid has two signatures: the metadata is invalid");
	free(ids);
	return rc;
}

enum gate_err gate_tuf_md_parse(const uint8_t *buf, size_t len, enum gate_tuf_type type,
				struct gate_tuf_md **out, struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	json_t *sigs;
	const char *t;
	const char *what = gate_tuf_type_name(type);
	enum gate_err rc;
	if ((unsigned)type >= GATE_TUF_NTYPES)
		return gate_fail(err, GATE_E_USAGE, NULL, NULL, "bad metadata type");
	if (len > GATE_TUF_METADATA_HARD_MAX)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", what, "%zu bytes, over %u", len,
				 GATE_TUF_METADATA_HARD_MAX);
	if (!(md = calloc(1, sizeof(*md))))
		return gate_fail(err, GATE_E_NOMEM, NULL, what, "out of memory");
	md->type = type;
	if ((rc = gate_json_parse(buf, len, &md->doc, what, err)) != GATE_OK)
		goto out;
	if ((rc = gate_tuf_get_typed(md->doc, "signed", true, JSON_OBJECT, &md->signed_obj, what,
				     err)) != GATE_OK ||
	    (rc = gate_tuf_get_typed(md->doc, "signatures", true, JSON_ARRAY, &sigs, what, err)) !=
		    GATE_OK ||
	    (rc = gate_tuf_get_str(md->signed_obj, "_type", true, &t, "signed", err)) != GATE_OK)
		goto out;
	/* §1: _type is checked before any signature. */
	if (strcmp(t, what) != 0) {
		rc = gate_fail(err, GATE_E_MISMATCH, "TUF-1", "signed._type",
			       "expected \"%s\", got \"%.40s\"", what, t);
		goto out;
	}
	if ((rc = sigs_load(md, sigs, err)) != GATE_OK)
		goto out;
	rc = gate_tuf_canonical(md->signed_obj, len + 1, &md->canon, &md->canon_len, err);
out:
	if (rc != GATE_OK) {
		gate_tuf_rule(err, "TUF-1");
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}

/* ---- typed model ---- */

void gate_tuf_rule(struct gate_error *err, const char *rule)
{
	/* The shared JSON and base64 readers tag their errors with the
	 * Sigstore rules they were written for (S1, S3): in TUF metadata
	 * the step that failed is a TUF rule. */
	if (err && err->rule[0] == 'S' && err->rule[1] >= '0' && err->rule[1] <= '9')
		snprintf(err->rule, sizeof err->rule, "%s", rule);
}

static bool digits_only(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "1.x" or "1.x.y" (spec §1): another major version is refused. */
static bool spec_version_ok(const char *s, bool *major_ok)
{
	size_t parts = 0;
	const char *p = s;
	*major_ok = false;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!digits_only(p, n) || ++parts > 3)
			return false;
		if (parts == 1)
			*major_ok = n == 1 && p[0] == '1';
		if (!dot)
			break;
		p = dot + 1;
	}
	return parts >= 2;
}

static enum gate_err common_load(struct gate_tuf_md *md, struct gate_error *err)
{
	const char *exp;
	bool major_ok;
	enum gate_err rc;
	json_t *s = md->signed_obj;
	if ((rc = gate_tuf_get_str(s, "spec_version", true, &md->spec_version, "signed", err)) !=
		    GATE_OK ||
	    (rc = get_int(s, "version", true, 1, &md->version, NULL, "signed", err)) != GATE_OK ||
	    (rc = gate_tuf_get_str(s, "expires", true, &exp, "signed", err)) != GATE_OK)
		return rc;
	if (!spec_version_ok(md->spec_version, &major_ok))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", "signed.spec_version",
				 "malformed \"%.32s\"", md->spec_version);
	if (!major_ok)
		return gate_fail(err, GATE_E_UNSUPPORTED, "TUF-1", "signed.spec_version",
				 "unsupported major version \"%.32s\"", md->spec_version);
	if (!gate_rfc3339_parse(exp, GATE_RFC3339_TUF, &md->expires))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", "signed.expires",
				 "not YYYY-MM-DDTHH:MM:SSZ: \"%.40s\"", exp);
	return GATE_OK;
}

static enum gate_err root_load(struct gate_tuf_md *md, struct gate_error *err)
{
	json_t *keys, *roles, *r;
	const char *name;
	char field[48];
	enum gate_err rc;
	json_t *s = md->signed_obj;
	if ((rc = get_bool(s, "consistent_snapshot", false, &md->consistent_snapshot, "signed",
			   err)) != GATE_OK ||
	    (rc = gate_tuf_get_typed(s, "keys", true, JSON_OBJECT, &keys, "signed", err)) !=
		    GATE_OK ||
	    (rc = gate_tuf_get_typed(s, "roles", true, JSON_OBJECT, &roles, "signed", err)) !=
		    GATE_OK ||
	    (rc = gate_tuf_keys_load(keys, &md->keys, "signed.keys", err)) != GATE_OK)
		return rc;
	/* Exactly the four top-level roles (as the reference). */
	json_object_foreach(roles, name, r)
	{
		int i = 0;
		while (i < GATE_TUF_NTYPES && strcmp(name, type_names[i]) != 0)
			i++;
		if (i == GATE_TUF_NTYPES)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", "signed.roles",
					 "unknown role \"%.40s\"", name);
	}
	for (int i = 0; i < GATE_TUF_NTYPES; i++) {
		snprintf(field, sizeof field, "signed.roles.%s", type_names[i]);
		r = json_object_get(roles, type_names[i]);
		if (!r)
			return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "missing role");
		if ((rc = role_load(r, &md->roles[i], field, err)) != GATE_OK)
			return rc;
	}
	return GATE_OK;
}

static enum gate_err timestamp_load(struct gate_tuf_md *md, struct gate_error *err)
{
	json_t *meta, *sm;
	enum gate_err rc =
		gate_tuf_get_typed(md->signed_obj, "meta", true, JSON_OBJECT, &meta, "signed", err);
	if (rc != GATE_OK)
		return rc;
	sm = json_object_get(meta, "snapshot.json");
	if (json_object_size(meta) != 1 || !sm)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", "signed.meta",
				 "must hold exactly \"snapshot.json\"");
	return file_load(sm, "snapshot.json", false, &md->snapshot_meta, "signed.meta", err);
}

static bool top_level_name(const char *name)
{
	for (int i = 0; i < GATE_TUF_NTYPES; i++)
		if (strcmp(name, type_names[i]) == 0)
			return true;
	return false;
}

static enum gate_err drole_load(json_t *obj, struct gate_tuf_delegation *d, const char *field,
				struct gate_error *err)
{
	json_t *paths, *prefixes;
	enum gate_err rc;
	if (!json_is_object(obj))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "not an object");
	if ((rc = gate_tuf_get_str(obj, "name", true, &d->name, field, err)) != GATE_OK ||
	    (rc = role_load(obj, &d->role, field, err)) != GATE_OK ||
	    (rc = get_bool(obj, "terminating", true, &d->terminating, field, err)) != GATE_OK ||
	    (rc = gate_tuf_get_typed(obj, "paths", false, JSON_ARRAY, &paths, field, err)) !=
		    GATE_OK ||
	    (rc = gate_tuf_get_typed(obj, "path_hash_prefixes", false, JSON_ARRAY, &prefixes, field,
				     err)) != GATE_OK)
		return rc;
	if (!*d->name || top_level_name(d->name))
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
				 "delegated role name empty or top-level: \"%.40s\"", d->name);
	if (!paths == !prefixes)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
				 "exactly one of \"paths\" and \"path_hash_prefixes\" is needed");
	d->has_paths = paths != NULL;
	if (paths)
		return str_array(paths, GATE_TUF_MAX_PATHS, &d->paths, &d->npaths, field, err);
	return str_array(prefixes, GATE_TUF_MAX_PATHS, &d->prefixes, &d->nprefixes, field, err);
}

static enum gate_err succinct_load(json_t *obj, struct gate_tuf_succinct *s, struct gate_error *err)
{
	const char *field = "signed.delegations.succinct_roles";
	int64_t bits = 0;
	enum gate_err rc;
	if ((rc = role_load(obj, &s->role, field, err)) != GATE_OK ||
	    (rc = get_int(obj, "bit_length", true, 1, &bits, NULL, field, err)) != GATE_OK ||
	    (rc = gate_tuf_get_str(obj, "name_prefix", true, &s->name_prefix, field, err)) !=
		    GATE_OK)
		return rc;
	if (bits > 32)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "bit_length over 32");
	s->bit_length = (unsigned)bits;
	return GATE_OK;
}

static enum gate_err delegations_load(struct gate_tuf_md *md, json_t *del, struct gate_error *err)
{
	const char *field = "signed.delegations";
	json_t *keys, *roles, *succ;
	char name[64];
	bool dup;
	enum gate_err rc;
	if ((rc = gate_tuf_get_typed(del, "keys", true, JSON_OBJECT, &keys, field, err)) !=
		    GATE_OK ||
	    (rc = gate_tuf_get_typed(del, "roles", false, JSON_ARRAY, &roles, field, err)) !=
		    GATE_OK ||
	    (rc = gate_tuf_get_typed(del, "succinct_roles", false, JSON_OBJECT, &succ, field,
				     err)) != GATE_OK ||
	    (rc = gate_tuf_keys_load(keys, &md->dkeys, "signed.delegations.keys", err)) != GATE_OK)
		return rc;
	if (!roles == !succ)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field,
				 "exactly one of \"roles\" and \"succinct_roles\" is needed");
	md->has_delegations = true;
	if (succ) {
		md->has_succinct = true;
		return succinct_load(succ, &md->succinct, err);
	}
	size_t n = json_array_size(roles);
	if (n > GATE_TUF_MAX_ROLES)
		return gate_fail(err, GATE_E_TOO_LARGE, "TUF-1", field, "%zu roles, over %u", n,
				 GATE_TUF_MAX_ROLES);
	if (n && !(md->droles = calloc(n, sizeof(*md->droles))))
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s.roles[%zu]", field, i);
		md->ndroles++;
		if ((rc = drole_load(json_array_get(roles, i), &md->droles[i], name, err)) !=
		    GATE_OK)
			return rc;
	}
	const char **names = n ? malloc(n * sizeof(*names)) : NULL;
	if (n && !names)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	for (size_t i = 0; i < n; i++)
		names[i] = md->droles[i].name;
	rc = has_duplicate(names, n, &dup);
	free(names);
	if (rc != GATE_OK)
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	if (dup)
		return gate_fail(err, GATE_E_PARSE, "TUF-1", field, "a role name appears twice");
	return GATE_OK;
}

static enum gate_err targets_load(struct gate_tuf_md *md, struct gate_error *err)
{
	json_t *targets, *del;
	enum gate_err rc;
	if ((rc = gate_tuf_get_typed(md->signed_obj, "targets", true, JSON_OBJECT, &targets,
				     "signed", err)) != GATE_OK ||
	    (rc = files_load(targets, true, GATE_TUF_MAX_TARGETS, &md->targets, &md->ntargets,
			     "signed.targets", err)) != GATE_OK ||
	    (rc = gate_tuf_get_typed(md->signed_obj, "delegations", false, JSON_OBJECT, &del,
				     "signed", err)) != GATE_OK)
		return rc;
	return del ? delegations_load(md, del, err) : GATE_OK;
}

enum gate_err gate_tuf_md_load(struct gate_tuf_md *md, struct gate_error *err)
{
	json_t *meta;
	enum gate_err rc;
	if (md->loaded)
		return GATE_OK;
	if ((rc = common_load(md, err)) != GATE_OK)
		return rc;
	switch (md->type) {
	case GATE_TUF_ROOT:
		rc = root_load(md, err);
		break;
	case GATE_TUF_TIMESTAMP:
		rc = timestamp_load(md, err);
		break;
	case GATE_TUF_SNAPSHOT:
		rc = gate_tuf_get_typed(md->signed_obj, "meta", true, JSON_OBJECT, &meta, "signed",
					err);
		if (rc == GATE_OK)
			rc = files_load(meta, false, GATE_TUF_MAX_META, &md->meta, &md->nmeta,
					"signed.meta", err);
		break;
	case GATE_TUF_TARGETS:
		rc = targets_load(md, err);
		break;
	}
	md->loaded = rc == GATE_OK;
	gate_tuf_rule(err, "TUF-1");
	return rc;
}

enum gate_err gate_tuf_md_parse_load(const uint8_t *buf, size_t len, enum gate_tuf_type type,
				     struct gate_tuf_md **out, struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_md_parse(buf, len, type, &md, err);
	if (rc == GATE_OK && (rc = gate_tuf_md_load(md, err)) != GATE_OK) {
		gate_tuf_md_free(md);
		md = NULL;
	}
	if (rc == GATE_OK)
		*out = md;
	return rc;
}

bool gate_tuf_expired(const struct gate_tuf_md *md, int64_t now)
{
	return now >= md->expires;
}

/* ---- lookups, hashes ---- */

const struct gate_tuf_file *gate_tuf_find_meta(const struct gate_tuf_md *snapshot, const char *name)
{
	for (size_t i = 0; i < snapshot->nmeta; i++)
		if (strcmp(snapshot->meta[i].name, name) == 0)
			return &snapshot->meta[i];
	return NULL;
}

const struct gate_tuf_file *gate_tuf_find_file(const struct gate_tuf_md *targets, const char *path)
{
	for (size_t i = 0; i < targets->ntargets; i++)
		if (strcmp(targets->targets[i].name, path) == 0)
			return &targets->targets[i];
	return NULL;
}

const EVP_MD *gate_tuf_hash_md(const char *alg)
{
	if (strcmp(alg, "sha256") == 0)
		return EVP_sha256();
	if (strcmp(alg, "sha384") == 0)
		return EVP_sha384();
	if (strcmp(alg, "sha512") == 0)
		return EVP_sha512();
	return NULL;
}

enum gate_err gate_tuf_check_file(const struct gate_tuf_file *f, const uint8_t *data, size_t len,
				  const char *what, const char *rule, struct gate_error *err)
{
	uint8_t got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
	unsigned int glen = 0;
	if (f->length >= 0 && (uint64_t)f->length != (uint64_t)len)
		return gate_fail(err, GATE_E_DIGEST, rule, what, "length %zu, expected %lld", len,
				 (long long)f->length);
	for (size_t i = 0; i < f->nhashes; i++) {
		const EVP_MD *md = gate_tuf_hash_md(f->hashes[i].alg);
		if (!md)
			return gate_fail(err, GATE_E_DIGEST, rule, what,
					 "unsupported hash algorithm \"%.32s\"", f->hashes[i].alg);
		size_t dlen = (size_t)EVP_MD_get_size(md);
		if (EVP_Digest(data, len, got, &glen, md, NULL) != 1 || glen != dlen)
			return gate_fail(err, GATE_E_INTERNAL, rule, what, "digest failed");
		const char *hex = f->hashes[i].hex;
		if (!gate_hex_decode(hex, strlen(hex), want, dlen) || !gate_ct_eq(got, want, dlen))
			return gate_fail(err, GATE_E_DIGEST, rule, what, "%s hash mismatch",
					 f->hashes[i].alg);
	}
	return GATE_OK;
}

/* ---- root steps (T1, T2) ---- */

enum gate_err gate_tuf_root_load(const uint8_t *buf, size_t len, struct gate_tuf_md **out,
				 struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_md_parse(buf, len, GATE_TUF_ROOT, &md, err);
	/* The initial root is trusted by installation: its keys are read
	 * before its signatures, which it must carry by its own threshold. */
	if (rc == GATE_OK && (rc = gate_tuf_md_load(md, err)) == GATE_OK)
		rc = gate_tuf_verify_role(md, &md->keys, &md->roles[GATE_TUF_ROOT], "root", "T1",
					  err);
	if (rc != GATE_OK) {
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}

enum gate_err gate_tuf_root_update(const struct gate_tuf_md *trusted, const uint8_t *buf,
				   size_t len, struct gate_tuf_md **out, struct gate_error *err)
{
	struct gate_tuf_md *md = NULL;
	enum gate_err rc = gate_tuf_md_parse(buf, len, GATE_TUF_ROOT, &md, err);
	if (rc != GATE_OK)
		return rc;
	/* T2: the trusted root's threshold first, before any field of the
	 * new root is read. */
	rc = gate_tuf_verify_role(md, &trusted->keys, &trusted->roles[GATE_TUF_ROOT],
				  "root (by the trusted root's keys)", "T2", err);
	if (rc == GATE_OK)
		rc = gate_tuf_md_load(md, err);
	if (rc == GATE_OK && (trusted->version == INT64_MAX || md->version != trusted->version + 1))
		rc = gate_fail(err, GATE_E_MISMATCH, "T2", "root.version",
			       "version %lld, expected %lld", (long long)md->version,
			       (long long)trusted->version + (trusted->version < INT64_MAX));
	if (rc == GATE_OK)
		rc = gate_tuf_verify_role(md, &md->keys, &md->roles[GATE_TUF_ROOT],
					  "root (by its own keys)", "T2", err);
	if (rc != GATE_OK) {
		gate_tuf_md_free(md);
		return rc;
	}
	*out = md;
	return GATE_OK;
}
