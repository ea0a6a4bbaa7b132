/* jar.c - signed JAR files (the JAR File Specification, "Signed JAR
 * File"): META-INF/MANIFEST.MF lists a digest per entry, META-INF/X.SF
 * lists a digest of the manifest and of each of its sections, and
 * META-INF/X.RSA|.EC|.DSA is a detached PKCS#7 signature over X.SF. Every
 * entry's bytes are checked against the manifest; entries the signature
 * file does not cover are counted (unsigned), and rejected unless the
 * caller allows them. */
#include "codesign.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JAR_FIELD "jar"
#define JAR_MAX_ATTRS 64 /* attributes in one manifest section */
#define JAR_MAX_LINE 65536

/* ---- manifest syntax ---- */

struct mf_attr {
	char *key;
	char *val;
};

struct mf_section {
	size_t start, end; /* raw bytes, with the blank line that ends it */
	const char *name;  /* the Name attribute (NULL: main section) */
	struct mf_attr a[JAR_MAX_ATTRS];
	size_t na;
};

struct mf {
	struct mf_section *s;
	size_t n;
	struct mf_section **by_name; /* entry sections sorted by name */
	size_t nnamed;
};

static void mf_free(struct mf *m)
{
	for (size_t i = 0; i < m->n; i++)
		for (size_t k = 0; k < m->s[i].na; k++) {
			free(m->s[i].a[k].key);
			free(m->s[i].a[k].val);
		}
	free(m->s);
	free(m->by_name);
	memset(m, 0, sizeof(*m));
}

static const char *mf_get(const struct mf_section *s, const char *key)
{
	for (size_t i = 0; i < s->na; i++)
		if (strcasecmp(s->a[i].key, key) == 0)
			return s->a[i].val;
	return NULL;
}

/* One physical line at *pos: its text [*pos, eol) and the next position. */
static bool next_line(const uint8_t *b, size_t n, size_t *pos, size_t *eol)
{
	size_t i = *pos;
	if (i >= n)
		return false;
	while (i < n && b[i] != '\n' && b[i] != '\r')
		i++;
	*eol = i;
	if (i < n && b[i] == '\r')
		i++;
	if (i < n && b[i] == '\n' && (i == *eol || b[i - 1] == '\r'))
		i++;
	*pos = i;
	return true;
}

static enum gate_err add_attr(struct mf_section *s, const uint8_t *line, size_t len,
			      const char *what, struct gate_error *err)
{
	const uint8_t *colon = memchr(line, ':', len);
	if (!colon || colon == line || (size_t)(colon - line) + 1 >= len || colon[1] != ' ')
		return gate_fail(err, GATE_E_PARSE, "C13", what, "line is not 'Name: value'");
	if (s->na >= JAR_MAX_ATTRS)
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", what,
				 "more than %d attributes in a section", JAR_MAX_ATTRS);
	size_t kl = (size_t)(colon - line);
	struct mf_attr *a = &s->a[s->na];
	a->key = strndup((const char *)line, kl);
	a->val = strndup((const char *)colon + 2, len - kl - 2);
	if (!a->key || !a->val) {
		free(a->key);
		free(a->val);
		return gate_fail(err, GATE_E_NOMEM, NULL, what, "out of memory");
	}
	s->na++;
	return GATE_OK;
}

static enum gate_err append_cont(struct mf_section *s, const uint8_t *p, size_t len,
				 const char *what, struct gate_error *err)
{
	if (s->na == 0)
		return gate_fail(err, GATE_E_PARSE, "C13", what,
				 "continuation line without an attribute");
	char **v = &s->a[s->na - 1].val;
	size_t old = strlen(*v);
	if (old + len > JAR_MAX_LINE)
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", what, "attribute value too long");
	char *nv = realloc(*v, old + len + 1);
	if (!nv)
		return gate_fail(err, GATE_E_NOMEM, NULL, what, "out of memory");
	memcpy(nv + old, p, len);
	nv[old + len] = 0;
	*v = nv;
	return GATE_OK;
}

static int cmp_sec(const void *a, const void *b)
{
	return strcmp((*(struct mf_section *const *)a)->name,
		      (*(struct mf_section *const *)b)->name);
}

static enum gate_err mf_parse(const uint8_t *b, size_t n, const char *what, struct mf *m,
			      struct gate_error *err)
{
	size_t pos = 0, eol, cap = 0;
	bool in_section = false;
	enum gate_err rc = GATE_OK;
	memset(m, 0, sizeof(*m));
	if (memchr(b, 0, n))
		return gate_fail(err, GATE_E_PARSE, "C13", what, "NUL byte in a manifest");
	while (rc == GATE_OK) {
		size_t start = pos;
		if (!next_line(b, n, &pos, &eol)) {
			if (in_section)
				m->s[m->n - 1].end = n;
			break;
		}
		size_t len = eol - start;
		if (len == 0) { /* a blank line ends the section */
			if (in_section)
				m->s[m->n - 1].end = pos;
			in_section = false;
			continue;
		}
		if (!in_section) {
			if (m->n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct mf_section *ns = nc > GATE_ZIP_MAX_ENTRIES + 1
								? NULL
								: realloc(m->s, nc * sizeof(*ns));
				if (!ns) {
					rc = gate_fail(err, GATE_E_TOO_LARGE, "C1", what,
						       "too many manifest sections");
					break;
				}
				m->s = ns;
				cap = nc;
			}
			memset(&m->s[m->n], 0, sizeof(m->s[0]));
			m->s[m->n++].start = start;
			in_section = true;
		}
		struct mf_section *s = &m->s[m->n - 1];
		rc = b[start] == ' ' ? append_cont(s, b + start + 1, len - 1, what, err)
				     : add_attr(s, b + start, len, what, err);
	}
	if (rc != GATE_OK)
		return rc;
	if (m->n == 0)
		return gate_fail(err, GATE_E_PARSE, "C13", what, "empty manifest");
	if (!(m->by_name = calloc(m->n, sizeof(*m->by_name))))
		return gate_fail(err, GATE_E_NOMEM, NULL, what, "out of memory");
	/* The first section is the main one; the others name entries. */
	for (size_t i = 1; i < m->n; i++) {
		if (!(m->s[i].name = mf_get(&m->s[i], "Name")))
			return gate_fail(err, GATE_E_PARSE, "C13", what, "section %zu has no Name",
					 i);
		m->by_name[m->nnamed++] = &m->s[i];
	}
	qsort(m->by_name, m->nnamed, sizeof(*m->by_name), cmp_sec);
	for (size_t i = 1; i < m->nnamed; i++)
		if (strcmp(m->by_name[i]->name, m->by_name[i - 1]->name) == 0)
			return gate_fail(err, GATE_E_PARSE, "C13", what, "two sections name '%s'",
					 m->by_name[i]->name);
	return GATE_OK;
}

static const struct mf_section *mf_find(const struct mf *m, const char *name)
{
	size_t lo = 0, hi = m->nnamed;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->by_name[mid]->name, name);
		if (c == 0)
			return m->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- digests ---- */

static const struct {
	const char *name;
	const EVP_MD *(*md)(void);
} jar_algs[] = {{"SHA-512", EVP_sha512}, {"SHA-384", EVP_sha384}, {"SHA-256", EVP_sha256}};

/* The strongest supported "<ALG><suffix>" attribute of s. */
static bool pick_digest(const struct mf_section *s, const char *suffix, const EVP_MD **md,
			const char **val)
{
	char key[64];
	for (size_t i = 0; i < sizeof jar_algs / sizeof jar_algs[0]; i++) {
		snprintf(key, sizeof key, "%s%s", jar_algs[i].name, suffix);
		if ((*val = mf_get(s, key))) {
			*md = jar_algs[i].md();
			return true;
		}
	}
	return false;
}

static bool digest_is(const EVP_MD *md, const uint8_t *p, size_t n, const char *b64)
{
	uint8_t d[EVP_MAX_MD_SIZE], *want = NULL;
	unsigned dl = 0;
	size_t wl = 0;
	bool ok = EVP_Digest(p, n, d, &dl, md, NULL) == 1 &&
		  gate_b64_decode(b64, strlen(b64), &want, &wl, "digest", NULL) == GATE_OK &&
		  wl == dl && gate_ct_eq(d, want, dl);
	free(want);
	ERR_clear_error();
	return ok;
}

/* ---- the archive's signature files ---- */

/* A top-level META-INF file that is part of signing (not covered by it). */
static bool signing_related(const char *name)
{
	if (strncasecmp(name, "META-INF/", 9) != 0)
		return false;
	const char *f = name + 9;
	if (strchr(f, '/') || !*f)
		return false;
	if (strcasecmp(f, "MANIFEST.MF") == 0 || strncasecmp(f, "SIG-", 4) == 0)
		return true;
	const char *dot = strrchr(f, '.');
	return dot && (strcasecmp(dot, ".SF") == 0 || strcasecmp(dot, ".RSA") == 0 ||
		       strcasecmp(dot, ".EC") == 0 || strcasecmp(dot, ".DSA") == 0);
}

static bool is_sf(const char *name)
{
	size_t n = strlen(name);
	return strncasecmp(name, "META-INF/", 9) == 0 && !strchr(name + 9, '/') && n > 12 &&
	       strcasecmp(name + n - 3, ".SF") == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The signature files, sorted by name. */
static enum gate_err list_sf(const struct gate_zip *z, const char **out, size_t *n,
			     struct gate_error *err)
{
	*n = 0;
	for (size_t i = 0; i < z->n; i++) {
		if (!is_sf(z->e[i].name))
			continue;
		if (*n >= GATE_CS_MAX_SIGS)
			return gate_fail(err, GATE_E_TOO_LARGE, "C1", JAR_FIELD,
					 "more than %d signature files", GATE_CS_MAX_SIGS);
		out[(*n)++] = z->e[i].name;
	}
	qsort(out, *n, sizeof(*out), cmp_str);
	return GATE_OK;
}

enum gate_err gate_jar_count(const struct gate_cs_input *in, size_t *n, struct gate_error *err)
{
	struct gate_zip z;
	const char *sfs[GATE_CS_MAX_SIGS];
	enum gate_err rc = gate_zip_open(in->fd, &z, err);
	if (rc != GATE_OK)
		return rc;
	rc = list_sf(&z, sfs, n, err);
	gate_zip_close(&z);
	return rc;
}

/* ---- verification ---- */

struct jar_ctx {
	const struct gate_cs_input *in;
	const struct gate_cs_opts *o;
	struct gate_zip z;
	uint8_t *mfb, *sfb, *blk;
	size_t mfl, sfl, blkl;
	struct mf mf, sf;
	PKCS7 *p7;
	char field[300];
};

static enum gate_err read_named(struct jar_ctx *c, const char *name, uint8_t **out, size_t *len,
				struct gate_error *err)
{
	long i = gate_zip_find(&c->z, name);
	if (i < 0)
		return gate_fail(err, GATE_E_SIGNATURE, "C13", JAR_FIELD, "%s is missing", name);
	return gate_zip_read_mem(&c->z, (size_t)i, GATE_JAR_MAX_META, out, len, err);
}

/* The block file that goes with the .SF: same stem, .RSA, .EC or .DSA. */
static enum gate_err read_block(struct jar_ctx *c, const char *sf, struct gate_error *err)
{
	static const char *const ext[] = {"RSA", "EC", "DSA"};
	size_t stem = strlen(sf) - 2;
	long found = -1;
	for (size_t k = 0; k < 3; k++) {
		char name[GATE_ZIP_MAX_NAME + 8];
		snprintf(name, sizeof name, "%.*s%s", (int)stem, sf, ext[k]);
		for (size_t i = 0; i < c->z.n; i++) {
			if (strcasecmp(c->z.e[i].name, name) != 0)
				continue;
			if (found >= 0)
				return gate_fail(err, GATE_E_PARSE, "C13", JAR_FIELD,
						 "more than one signature block for %s", sf);
			found = (long)i;
		}
	}
	if (found < 0)
		return gate_fail(err, GATE_E_SIGNATURE, "C13", JAR_FIELD,
				 "no signature block (.RSA, .EC or .DSA) for %s", sf);
	return gate_zip_read_mem(&c->z, (size_t)found, GATE_CS_MAX_SIG, &c->blk, &c->blkl, err);
}

/* The .SF vouches for the manifest: wholly (DIGEST-Digest-Manifest) or
 * section by section (each of its entries' digests over the manifest
 * section's raw bytes). */
static enum gate_err check_sf(struct jar_ctx *c, struct gate_error *err)
{
	const EVP_MD *md = NULL;
	const char *v = NULL;
	if (pick_digest(&c->sf.s[0], "-Digest-Manifest", &md, &v) &&
	    digest_is(md, c->mfb, c->mfl, v))
		return GATE_OK;
	if (pick_digest(&c->sf.s[0], "-Digest-Manifest-Main-Attributes", &md, &v) &&
	    !digest_is(md, c->mfb + c->mf.s[0].start, c->mf.s[0].end - c->mf.s[0].start, v))
		return gate_fail(
			err, GATE_E_DIGEST, "C13", c->field,
			"manifest main attributes differ from what the signature file signs");
	for (size_t i = 0; i < c->sf.nnamed; i++) {
		const struct mf_section *ss = c->sf.by_name[i];
		const struct mf_section *ms = mf_find(&c->mf, ss->name);
		if (!ms)
			return gate_fail(err, GATE_E_DIGEST, "C13", c->field,
					 "signed entry '%s' is not in the manifest", ss->name);
		if (!pick_digest(ss, "-Digest", &md, &v))
			return gate_fail(err, GATE_E_UNSUPPORTED, "C3", c->field,
					 "no SHA-256/384/512 digest for '%s' in the signature file",
					 ss->name);
		if (!digest_is(md, c->mfb + ms->start, ms->end - ms->start, v))
			return gate_fail(err, GATE_E_DIGEST, "C13", c->field,
					 "manifest section of '%s' differs from what the signature "
					 "file signs",
					 ss->name);
	}
	return GATE_OK;
}

struct md_sink {
	EVP_MD_CTX *ctx;
};

static bool md_feed(void *ctx, const uint8_t *p, size_t n)
{
	return EVP_DigestUpdate(((struct md_sink *)ctx)->ctx, p, n) == 1;
}

static enum gate_err entry_digest(struct jar_ctx *c, size_t i, const struct mf_section *ms,
				  struct gate_error *err)
{
	const EVP_MD *md = NULL;
	const char *v = NULL;
	uint8_t d[EVP_MAX_MD_SIZE], *want = NULL;
	unsigned dl = 0;
	size_t wl = 0;
	const char *name = c->z.e[i].name;
	if (!pick_digest(ms, "-Digest", &md, &v))
		return gate_fail(err, GATE_E_UNSUPPORTED, "C3", c->field,
				 "no SHA-256/384/512 digest for '%s' in the manifest", name);
	struct md_sink s = {EVP_MD_CTX_new()};
	enum gate_err rc = GATE_OK;
	if (!s.ctx || EVP_DigestInit_ex(s.ctx, md, NULL) != 1)
		rc = gate_fail(err, GATE_E_NOMEM, NULL, c->field, "out of memory");
	if (rc == GATE_OK)
		rc = gate_zip_read(&c->z, i, GATE_JAR_MAX_ENTRY_SIZE, md_feed, &s, err);
	if (rc == GATE_OK && EVP_DigestFinal_ex(s.ctx, d, &dl) != 1)
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, c->field, "digest failed");
	if (rc == GATE_OK &&
	    (gate_b64_decode(v, strlen(v), &want, &wl, "digest", NULL) != GATE_OK || wl != dl ||
	     !gate_ct_eq(d, want, dl)))
		rc = gate_fail(err, GATE_E_DIGEST, "C13", c->field,
			       "entry '%s' does not match its manifest digest: it was changed "
			       "after signing",
			       name);
	free(want);
	EVP_MD_CTX_free(s.ctx);
	ERR_clear_error();
	return rc;
}

static bool no_sink(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	(void)p;
	return n == 0;
}

/* C12: a folder entry holds nothing; one with data would be skipped as a
 * folder, its bytes unsigned. `jar` deflates folders to two bytes of
 * nothing, so compressed bytes are inflated to show they are empty. */
static enum gate_err folder_is_empty(struct jar_ctx *c, size_t i, struct gate_error *err)
{
	const struct gate_zip_entry *e = &c->z.e[i];
	if (e->usize)
		return gate_fail(err, GATE_E_PARSE, "C12", c->field,
				 "entry '%s' is named as a folder but holds %llu bytes", e->name,
				 (unsigned long long)e->usize);
	return e->csize ? gate_zip_read(&c->z, i, 0, no_sink, NULL, err) : GATE_OK;
}

/* Every entry: digest against the manifest; covered when the .SF names
 * it. Every entry the .SF names must exist. */
static enum gate_err check_entries(struct jar_ctx *c, size_t *unsigned_n, char *first,
				   size_t firstlen, struct gate_error *err)
{
	enum gate_err rc;
	*unsigned_n = 0;
	for (size_t i = 0; i < c->z.n; i++) {
		const char *name = c->z.e[i].name;
		size_t nl = strlen(name);
		if (name[nl - 1] == '/' && (rc = folder_is_empty(c, i, err)) != GATE_OK)
			return rc;
		if (name[nl - 1] == '/' || signing_related(name))
			continue;
		const struct mf_section *ms = mf_find(&c->mf, name);
		if (ms && (rc = entry_digest(c, i, ms, err)) != GATE_OK)
			return rc;
		if (!ms || !mf_find(&c->sf, name)) {
			if (!(*unsigned_n)++)
				snprintf(first, firstlen, "%s", name);
		}
	}
	for (size_t i = 0; i < c->sf.nnamed; i++)
		if (gate_zip_find(&c->z, c->sf.by_name[i]->name) < 0)
			return gate_fail(err, GATE_E_DIGEST, "C13", c->field,
					 "signed entry '%s' is missing from the archive",
					 c->sf.by_name[i]->name);
	return GATE_OK;
}

static enum gate_err verify_block(struct jar_ctx *c, struct gate_facts **out,
				  struct gate_error *err)
{
	const EVP_MD *md = NULL;
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	X509 *signer = NULL;
	struct gate_cs_time ts;
	enum gate_err rc = gate_cs_parse_p7(c->blk, c->blkl, false, c->field, &c->p7, err);
	if (rc != GATE_OK)
		return rc;
	PKCS7 *inner = c->p7->d.sign->contents;
	if (OBJ_obj2nid(inner->type) != NID_pkcs7_data || inner->d.data != NULL)
		return gate_fail(err, GATE_E_UNSUPPORTED, "C2", c->field,
				 "signature block is not a detached signature over data");
	if (sk_PKCS7_SIGNER_INFO_num(c->p7->d.sign->signer_info) != 1)
		return gate_fail(err, GATE_E_PARSE, "C2", c->field,
				 "signature block has more than one signer");
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(c->p7->d.sign->signer_info, 0);
	if ((rc = gate_cs_signer_md(si, c->field, &md, err)) != GATE_OK)
		return rc;
	if (EVP_Digest(c->sfb, c->sfl, d, &dl, md, NULL) != 1)
		return gate_fail(err, GATE_E_INTERNAL, NULL, c->field, "digest failed");
	if ((rc = gate_cs_signer_check(c->p7, si, OBJ_nid2obj(NID_pkcs7_data), d, dl, true,
				       c->field, &signer, err)) != GATE_OK)
		return rc;
	if (gate_cs_timestamp(c->o->trust, c->p7, si, c->o->now, &ts) != GATE_OK)
		return gate_fail(err, GATE_E_NOMEM, NULL, c->field, "out of memory");
	return gate_cs_finish(c->o->trust, c->p7, signer, &ts, c->o->now, "jar", c->field, out,
			      err);
}

enum gate_err gate_jar_verify(const struct gate_cs_input *in, const struct gate_cs_opts *o,
			      struct gate_facts **out, struct gate_error *err)
{
	struct jar_ctx c = {.in = in, .o = o};
	const char *sfs[GATE_CS_MAX_SIGS];
	size_t nsf = 0, nun = 0;
	char first[GATE_ZIP_MAX_NAME] = "", note[GATE_ZIP_MAX_NAME + 64];
	struct gate_facts *f = NULL;
	enum gate_err rc = gate_zip_open(in->fd, &c.z, err);
	if (rc != GATE_OK)
		return rc;
	if ((rc = list_sf(&c.z, sfs, &nsf, err)) != GATE_OK)
		goto out;
	if (nsf == 0) {
		rc = gate_fail(err, GATE_E_SIGNATURE, "C9", JAR_FIELD,
			       "the archive is not signed (no META-INF/*.SF)");
		goto out;
	}
	if (in->index >= nsf) {
		rc = gate_fail(err, GATE_E_USAGE, NULL, JAR_FIELD, "no signature #%zu", in->index);
		goto out;
	}
	snprintf(c.field, sizeof c.field, "%s", sfs[in->index]);
	if ((rc = read_named(&c, "META-INF/MANIFEST.MF", &c.mfb, &c.mfl, err)) != GATE_OK ||
	    (rc = read_named(&c, sfs[in->index], &c.sfb, &c.sfl, err)) != GATE_OK ||
	    (rc = read_block(&c, sfs[in->index], err)) != GATE_OK ||
	    (rc = mf_parse(c.mfb, c.mfl, "META-INF/MANIFEST.MF", &c.mf, err)) != GATE_OK ||
	    (rc = mf_parse(c.sfb, c.sfl, c.field, &c.sf, err)) != GATE_OK)
		goto out;
	/* The signature first: nothing the .SF says is used before it verifies. */
	if ((rc = verify_block(&c, &f, err)) != GATE_OK || (rc = check_sf(&c, err)) != GATE_OK ||
	    (rc = check_entries(&c, &nun, first, sizeof first, err)) != GATE_OK)
		goto out;
	if (nun && !o->allow_unsigned_entries) {
		rc = gate_fail(err, GATE_E_SIGNATURE, "C13", c.field,
			       "%zu entr%s not covered by the signature (first: '%s')", nun,
			       nun == 1 ? "y is" : "ies are", first);
		goto out;
	}
	f->n_unsigned = nun;
	f->n_signatures = nsf;
	if (nun)
		snprintf(note, sizeof note, "%zu (first: %s)", nun, first);
	if (gate_facts_add_ext(f, "signature_file", sfs[in->index]) != GATE_OK ||
	    (nun && gate_facts_add_ext(f, "unsigned_entries", note) != GATE_OK)) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, c.field, "out of memory");
		goto out;
	}
	*out = f;
	f = NULL;
out:
	gate_facts_free(f);
	PKCS7_free(c.p7);
	mf_free(&c.mf);
	mf_free(&c.sf);
	free(c.mfb);
	free(c.sfb);
	free(c.blk);
	gate_zip_close(&c.z);
	ERR_clear_error();
	return rc;
}
