/* x509cs.c - classic X.509 code signing: the trust (named roots, TSA roots,
 * CRLs), the chain at the signing time with the code-signing profile, the
 * facts, and the entry points that dispatch to cms.c, pe.c and jar.c. */
#include "codesign.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ---- */

bool gate_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len > 0) {
		if (off > (uint64_t)INT64_MAX)
			return false;
		ssize_t r = pread(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return true;
}

bool gate_fd_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0)
		return false;
	*size = (uint64_t)st.st_size;
	return true;
}

enum gate_err gate_facts_add_ext(struct gate_facts *f, const char *name, const char *value)
{
	if (f->n_exts >= GATE_MAX_FACT_EXTS)
		return GATE_OK; /* notes past the cap are dropped, never facts that match */
	char *v = strdup(value);
	if (!v)
		return GATE_E_NOMEM;
	f->exts[f->n_exts].name = name;
	f->exts[f->n_exts].value = v;
	f->n_exts++;
	return GATE_OK;
}

bool gate_der_next(struct gate_rd *r, uint8_t *tag, struct gate_rd *val, size_t *hdr)
{
	const uint8_t *b;
	uint64_t len = 0, lb;
	const uint8_t *start = r->p;
	if (!gate_rd_bytes(r, 1, &b) || (b[0] & 0x1f) == 0x1f)
		return false;
	*tag = b[0];
	if (!gate_rd_uint(r, 1, &lb))
		return false;
	if (lb & 0x80) {
		size_t n = (size_t)(lb & 0x7f);
		if (n == 0 || n > 4 || !gate_rd_uint(r, n, &len))
			return false; /* indefinite or absurd */
		if (len < 0x80 || (n > 1 && len < (1ull << (8 * (n - 1)))))
			return false; /* not minimal */
	} else {
		len = lb;
	}
	if (!gate_rd_bytes(r, (size_t)len, &b))
		return false;
	val->p = b;
	val->n = (size_t)len;
	if (hdr)
		*hdr = (size_t)(b - start);
	return true;
}

bool gate_der_oid_is(const struct gate_rd *v, const char *txt)
{
	ASN1_OBJECT *o = OBJ_txt2obj(txt, 1);
	unsigned char *der = NULL;
	int n = o ? i2d_ASN1_OBJECT(o, &der) : -1;
	/* der is the whole TLV; v is the content only */
	bool ok = n > 2 && (size_t)n - 2 == v->n && memcmp(der + 2, v->p, v->n) == 0;
	OPENSSL_free(der);
	ASN1_OBJECT_free(o);
	return ok;
}

/* ---- trust ---- */

enum gate_err gate_x509_trust_new(struct gate_x509_trust **out, struct gate_error *err)
{
	struct gate_x509_trust *t = calloc(1, sizeof(*t));
	if (!t || pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return gate_fail(err, GATE_E_NOMEM, NULL, "trust", "out of memory");
	}
	if (!(t->store = X509_STORE_new()) || !(t->crls = sk_X509_CRL_new_null()) ||
	    gate_crl_cache_new(&t->cache) != GATE_OK) {
		gate_x509_trust_free(t);
		return gate_fail(err, GATE_E_NOMEM, NULL, "trust", "out of memory");
	}
	*out = t;
	return GATE_OK;
}

static void rootset_clear(struct gate_x509_rootset *r)
{
	free(r->name);
	for (size_t i = 0; i < r->n; i++)
		free(r->der[i]);
	free(r->der);
	free(r->der_len);
	sk_X509_pop_free(r->certs, X509_free);
	free(r->fps);
}

void gate_x509_trust_free(struct gate_x509_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nroots; i++)
		rootset_clear(&t->roots[i]);
	for (size_t i = 0; i < t->ntsas; i++)
		rootset_clear(&t->tsas[i]);
	free(t->roots);
	free(t->tsas);
	X509_STORE_free(t->store);
	sk_X509_CRL_pop_free(t->crls, X509_CRL_free);
	free(t->crl_cache_dir);
	gate_crl_cache_free(t->cache);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void cert_fp(X509 *x, char hex[65])
{
	uint8_t md[32];
	unsigned int n = 0;
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
		ERR_clear_error();
		hex[0] = '\0';
		return;
	}
	gate_hex_encode(md, 32, hex);
}

static enum gate_err push_der(struct gate_x509_rootset *r, const uint8_t *der, size_t len,
			      const char *path, struct gate_error *err)
{
	if (r->n >= GATE_CS_MAX_ROOTS)
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", path,
				 "more than %d certificates in one trust file", GATE_CS_MAX_ROOTS);
	uint8_t **nd = realloc(r->der, (r->n + 1) * sizeof(*nd));
	if (nd)
		r->der = nd;
	size_t *nl = nd ? realloc(r->der_len, (r->n + 1) * sizeof(*nl)) : NULL;
	if (nl)
		r->der_len = nl;
	char(*nf)[65] = nl ? realloc(r->fps, (r->n + 1) * sizeof(*nf)) : NULL;
	if (nf)
		r->fps = nf;
	uint8_t *copy = nf ? malloc(len ? len : 1) : NULL;
	if (!copy)
		return gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
	memcpy(copy, der, len);
	uint8_t md[32];
	gate_sha256(der, len, md);
	gate_hex_encode(md, 32, r->fps[r->n]);
	r->der[r->n] = copy;
	r->der_len[r->n++] = len;
	return GATE_OK;
}

/* Every CERTIFICATE block of PEM text, or one DER certificate, as DER. */
static enum gate_err split_certs(struct gate_x509_rootset *r, const uint8_t *buf, size_t len,
				 const char *path, struct gate_error *err)
{
	if (len > 0 && buf[0] == 0x30)
		return push_der(r, buf, len, path, err);
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	enum gate_err rc = b ? GATE_OK : gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	while (rc == GATE_OK && PEM_read_bio(b, &name, &header, &data, &dlen) == 1) {
		if (strcmp(name, "CERTIFICATE") != 0)
			rc = gate_fail(err, GATE_E_PARSE, "C1", path,
				       "a PEM block is %s, not CERTIFICATE", name);
		else
			rc = push_der(r, data, (size_t)dlen, path, err);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	BIO_free(b);
	ERR_clear_error();
	if (rc == GATE_OK && r->n == 0)
		rc = gate_fail(err, GATE_E_PARSE, "C1", path, "no PEM certificate found");
	return rc;
}

static enum gate_err add_set(struct gate_x509_rootset **sets, size_t *n, const char *name,
			     const char *path, struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc;
	if ((rc = gate_read_file(path, GATE_CS_MAX_ROOTS_FILE, &buf, &len, err)) != GATE_OK)
		return rc;
	struct gate_x509_rootset *ns = realloc(*sets, (*n + 1) * sizeof(**sets));
	if (!ns) {
		free(buf);
		return gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
	}
	*sets = ns;
	struct gate_x509_rootset *r = &ns[*n];
	memset(r, 0, sizeof(*r));
	(*n)++;
	if (!(r->name = strdup(name)))
		rc = gate_fail(err, GATE_E_NOMEM, NULL, path, "out of memory");
	else
		rc = split_certs(r, buf, len, path, err);
	free(buf);
	return rc;
}

enum gate_err gate_x509_trust_add_roots(struct gate_x509_trust *t, const char *name,
					const char *path, struct gate_error *err)
{
	t->decoded = false;
	return add_set(&t->roots, &t->nroots, name, path, err);
}

enum gate_err gate_x509_trust_add_tsa_roots(struct gate_x509_trust *t, const char *name,
					    const char *path, struct gate_error *err)
{
	t->decoded = false;
	return add_set(&t->tsas, &t->ntsas, name, path, err);
}

static enum gate_err decode_set(struct gate_x509_rootset *r, const char *what, X509_STORE *store,
				struct gate_error *err)
{
	if (r->certs)
		return GATE_OK;
	if (!(r->certs = sk_X509_new_null()))
		return gate_fail(err, GATE_E_NOMEM, NULL, what, "out of memory");
	for (size_t i = 0; i < r->n; i++) {
		X509 *x = gate_x509_from_der(r->der[i], r->der_len[i]);
		if (!x)
			return gate_fail(err, GATE_E_TRUST_ROOT, "C1", what,
					 "certificate %zu of '%s' does not parse", i + 1, r->name);
		if (!sk_X509_push(r->certs, x)) {
			X509_free(x);
			return gate_fail(err, GATE_E_NOMEM, NULL, what, "out of memory");
		}
		/* A duplicate certificate is harmless: the store keeps one. */
		if (store && !X509_STORE_add_cert(store, x)) {
			unsigned long e = ERR_peek_last_error();
			ERR_clear_error();
			if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
				return gate_fail(err, GATE_E_NOMEM, NULL, what, "out of memory");
		}
	}
	return GATE_OK;
}

enum gate_err gate_x509_trust_ready(const struct gate_x509_trust *ct, struct gate_error *err)
{
	struct gate_x509_trust *t = (struct gate_x509_trust *)ct; /* only the decoded cache */
	pthread_mutex_lock(&t->mu);
	if (!t->decoded) {
		enum gate_err rc = GATE_OK;
		memset(&t->decode_err, 0, sizeof t->decode_err);
		for (size_t i = 0; rc == GATE_OK && i < t->nroots; i++)
			rc = decode_set(&t->roots[i], "trust.x509_roots", t->store, &t->decode_err);
		for (size_t i = 0; rc == GATE_OK && i < t->ntsas; i++)
			rc = decode_set(&t->tsas[i], "trust.tsa_roots", NULL, &t->decode_err);
		t->decode_rc = rc;
		t->decoded = true;
	}
	enum gate_err rc = t->decode_rc;
	if (rc != GATE_OK && err)
		*err = t->decode_err;
	pthread_mutex_unlock(&t->mu);
	ERR_clear_error();
	return rc;
}

enum gate_err gate_x509_trust_check(const struct gate_x509_trust *t, struct gate_error *err)
{
	return gate_x509_trust_ready(t, err);
}

enum gate_err gate_x509_trust_add_crl(struct gate_x509_trust *t, const char *path,
				      struct gate_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	enum gate_err rc = gate_read_file(path, GATE_CS_MAX_CRL, &buf, &len, err);
	if (rc != GATE_OK)
		return rc;
	size_t before = (size_t)sk_X509_CRL_num(t->crls);
	if (len > 0 && buf[0] == 0x30) {
		const unsigned char *p = buf;
		X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);
		if (!c || p != buf + len || !sk_X509_CRL_push(t->crls, c)) {
			X509_CRL_free(c);
			rc = gate_fail(err, GATE_E_PARSE, "C1", path, "not a DER CRL");
		}
	} else {
		BIO *b = BIO_new_mem_buf(buf, (int)len);
		X509_CRL *c;
		while (b && (c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
			if (sk_X509_CRL_num(t->crls) >= GATE_CS_MAX_CRLS ||
			    !sk_X509_CRL_push(t->crls, c)) {
				X509_CRL_free(c);
				rc = gate_fail(err, GATE_E_TOO_LARGE, "C1", path,
					       "more than %d CRLs", GATE_CS_MAX_CRLS);
				break;
			}
		}
		BIO_free(b);
		if (rc == GATE_OK && (size_t)sk_X509_CRL_num(t->crls) == before)
			rc = gate_fail(err, GATE_E_PARSE, "C1", path, "no PEM X509 CRL found");
	}
	ERR_clear_error();
	free(buf);
	return rc;
}

enum gate_err gate_x509_trust_set_revocation(struct gate_x509_trust *t, enum gate_crl_mode mode,
					     bool fetch, const char *cache_dir,
					     struct gate_error *err)
{
	t->crl_mode = mode;
	t->crl_fetch = fetch;
	free(t->crl_cache_dir);
	t->crl_cache_dir = NULL;
	if (cache_dir && !(t->crl_cache_dir = strdup(cache_dir)))
		return gate_fail(err, GATE_E_NOMEM, NULL, "trust.crl", "out of memory");
	return GATE_OK;
}

static const struct gate_x509_rootset *find_set(const struct gate_x509_trust *t, const char *name)
{
	for (size_t i = 0; t && i < t->nroots; i++)
		if (strcmp(t->roots[i].name, name) == 0)
			return &t->roots[i];
	return NULL;
}

bool gate_x509_trust_has_root_set(const struct gate_x509_trust *t, const char *name)
{
	return find_set(t, name) != NULL;
}

bool gate_x509_trust_has_anchor(const struct gate_x509_trust *t, const char *name,
				const char *anchor_fp)
{
	if (!anchor_fp || !anchor_fp[0])
		return false;
	for (size_t i = 0; t && i < t->nroots; i++) {
		if (strcmp(t->roots[i].name, name) != 0)
			continue;
		for (size_t k = 0; k < t->roots[i].n; k++)
			if (strcmp(t->roots[i].fps[k], anchor_fp) == 0)
				return true;
	}
	return false;
}

/* ---- chain and profile ---- */

/* C7. Leaf: EKU present with codeSigning; keyUsage, when present, with
 * digitalSignature (an absent keyUsage restricts nothing, RFC 5280
 * 4.2.1.3: Microsoft's UEFI driver publisher has none). Above it, an EKU that is present must allow code
 * signing (codeSigning or anyExtendedKeyUsage): a CA restricted to TLS
 * does not vouch for code. CA flags and path lengths are OpenSSL's. */
static enum gate_err check_profile(STACK_OF(X509) *chain, const char *field, struct gate_error *err)
{
	X509 *leaf = sk_X509_value(chain, 0);
	uint32_t fl = X509_get_extension_flags(leaf);
	if (!(fl & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN))
		return gate_fail(err, GATE_E_CERT, "C7", field,
				 "signing certificate lacks extendedKeyUsage codeSigning");
	if ((fl & EXFLAG_KUSAGE) && !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
		return gate_fail(err, GATE_E_CERT, "C7", field,
				 "signing certificate lacks keyUsage digitalSignature");
	for (int i = 1; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE))
			continue;
		uint32_t xku = X509_get_extended_key_usage(x);
		if (!(xku & (XKU_CODE_SIGN | XKU_ANYEKU)))
			return gate_fail(err, GATE_E_CERT, "C7", field,
					 "CA certificate at depth %d restricts extendedKeyUsage "
					 "and does not allow codeSigning",
					 i);
	}
	return GATE_OK;
}

/* Build and verify the chain at time t. *chain gets an up-ref'd copy. */
static enum gate_err build_chain(const struct gate_x509_trust *t, X509 *signer,
				 STACK_OF(X509) *helpers, int64_t at, const char *field,
				 STACK_OF(X509) **chain, struct gate_error *err)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	enum gate_err rc = GATE_E_CERT;
	char ts[32];
	gate_format_time(at, ts);
	if (!ctx || !X509_STORE_CTX_init(ctx, t->store, signer, helpers)) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
	/* Partial chains: a policy may pin an issuing CA rather than its root. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_CTX_set_verify_cb(ctx, gate_x509_verify_cb);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		rc = gate_fail(err, GATE_E_CERT, "C6", field,
			       "certificate chain does not verify to a trusted root at %s: %s "
			       "(depth %d)",
			       ts, X509_verify_cert_error_string(e),
			       X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	if (sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) > GATE_MAX_CHAIN + 1) {
		rc = gate_fail(err, GATE_E_CERT, "C6", field, "chain longer than %d certificates",
			       GATE_MAX_CHAIN + 1);
		goto out;
	}
	if (!(*chain = X509_STORE_CTX_get1_chain(ctx))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	rc = GATE_OK;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return rc;
}

static char *name_line(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;
	if (b && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		char *data = NULL;
		long len = BIO_get_mem_data(b, &data);
		if (len >= 0 && len < 4096)
			s = strndup(data ? data : "", (size_t)len);
	}
	BIO_free(b);
	ERR_clear_error();
	return s;
}

/* Every SAN is read: a policy's san may name any of them. Past the cap
 * the certificate is refused, never read in part. */
static enum gate_err fill_sans(X509 *leaf, struct gate_facts *f, const char *field,
			       struct gate_error *err)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	enum gate_err rc = GATE_OK;
	int n = gens ? sk_GENERAL_NAME_num(gens) : 0;
	if (n > GATE_CS_MAX_SANS) {
		GENERAL_NAMES_free(gens);
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", field,
				 "the signing certificate has %d subject alternative names, more "
				 "than the %u allowed",
				 n, GATE_CS_MAX_SANS);
	}
	if (n > 0 && !(f->sans = calloc((size_t)n, sizeof(char *))))
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	for (int i = 0; rc == GATE_OK && i < n; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s = NULL;
		if (g->type == GEN_EMAIL || g->type == GEN_DNS || g->type == GEN_URI)
			s = g->d.ia5;
		if (!s || ASN1_STRING_length(s) <= 0 || ASN1_STRING_length(s) > 4096)
			continue;
		const uint8_t *d = ASN1_STRING_get0_data(s);
		size_t len = (size_t)ASN1_STRING_length(s);
		if (memchr(d, 0, len))
			continue; /* an embedded NUL would cut the value short */
		if (!(f->sans[f->n_sans] = strndup((const char *)d, len)))
			rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		else
			f->n_sans++;
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return rc;
}

static char *serial_hex(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn ? BN_bn2hex(bn) : NULL, *out = h ? strdup(h) : NULL;
	OPENSSL_free(h);
	BN_free(bn);
	ERR_clear_error();
	return out;
}

static const char *anchor_set_name(const struct gate_x509_trust *t, const char *fp)
{
	for (size_t i = 0; i < t->nroots; i++)
		for (size_t k = 0; k < t->roots[i].n; k++)
			if (strcmp(t->roots[i].fps[k], fp) == 0)
				return t->roots[i].name;
	return NULL;
}

static enum gate_err fill_facts(const struct gate_x509_trust *t, STACK_OF(X509) *chain,
				const struct gate_cs_time *ts, const char *format,
				struct gate_facts *f, const char *field, struct gate_error *err)
{
	X509 *leaf = sk_X509_value(chain, 0);
	X509 *anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
	f->kind = GATE_SIGNER_X509;
	f->cs_format = format;
	cert_fp(leaf, f->fingerprint);
	cert_fp(anchor, f->anchor_fingerprint);
	const char *an = anchor_set_name(t, f->anchor_fingerprint);
	if (!(f->subject = name_line(X509_get_subject_name(leaf))) ||
	    !(f->cert_issuer = name_line(X509_get_issuer_name(leaf))) ||
	    !(f->serial = serial_hex(leaf)) || (an && !(f->anchor_name = strdup(an))))
		return gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	/* The SPKI as the certificate carries it: re-encoding the decoded key
	 * would cost OpenSSL's decoder machinery for the same bytes. */
	unsigned char *spki = NULL;
	int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &spki);
	if (spki_len > 0) {
		uint8_t md[32];
		gate_sha256(spki, (size_t)spki_len, md);
		gate_hex_encode(md, 32, f->key_id);
	}
	OPENSSL_free(spki);
	ERR_clear_error();
	if (ts->verified) {
		f->signing_time = ts->time;
		f->time_source = ts->source;
		f->n_tsa = 1;
		f->tsa_time[0] = ts->time;
	}
	return fill_sans(leaf, f, field, err);
}

enum gate_err gate_cs_finish(const struct gate_x509_trust *t, PKCS7 *p7, X509 *signer,
			     const struct gate_cs_time *ts, int64_t now, const char *format,
			     const char *field, struct gate_facts **out, struct gate_error *err)
{
	STACK_OF(X509) *chain = NULL;
	struct gate_facts *f = NULL;
	enum gate_err rc;
	char note[256] = "";
	/* A verified timestamp inside the certificate's validity keeps the
	 * signature valid after expiry; without one the chain must be valid
	 * now. */
	int64_t at = ts->verified ? ts->time : now;
	STACK_OF(X509) *helpers = p7->d.sign ? p7->d.sign->cert : NULL;
	if ((rc = gate_x509_trust_ready(t, err)) != GATE_OK)
		return rc;
	rc = build_chain(t, signer, helpers, at, field, &chain, err);
	if (rc != GATE_OK) {
		if (rc == GATE_E_CERT && ts->present && !ts->verified && err) {
			char tmp[GATE_ERR_MSG_MAX + 256];
			snprintf(tmp, sizeof tmp,
				 "%.200s; the signature's timestamp did not verify: %.150s",
				 err->msg, ts->why);
			gate_fail(err, rc, "C6", field, "%s", tmp);
		}
		goto out;
	}
	if ((rc = check_profile(chain, field, err)) != GATE_OK)
		goto out;
	if ((rc = gate_cs_revocation(t, chain, at, now, note, sizeof note, field, err)) != GATE_OK)
		goto out;
	if (!(f = calloc(1, sizeof(*f)))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	if ((rc = fill_facts(t, chain, ts, format, f, field, err)) != GATE_OK)
		goto out;
	if ((note[0] && gate_facts_add_ext(f, "revocation", note) != GATE_OK) ||
	    (ts->present && !ts->verified &&
	     gate_facts_add_ext(f, "timestamp_rejected", ts->why) != GATE_OK)) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	*out = f;
	f = NULL;
	rc = GATE_OK;
out:
	gate_facts_free(f);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* ---- entry points ---- */

enum gate_cs_format gate_cs_sniff(int fd)
{
	uint8_t b[4];
	if (!gate_pread_full(fd, b, 4, 0))
		return GATE_CS_NONE;
	if (b[0] == 'M' && b[1] == 'Z')
		return gate_pe_sniff(fd) ? GATE_CS_PE : GATE_CS_NONE;
	if (memcmp(b, "PK\x03\x04", 4) == 0 || memcmp(b, "PK\x05\x06", 4) == 0) {
		/* A ZIP too malformed to read is judged as a JAR, and rejected
		 * with the reason (C12), rather than passed over as no JAR. */
		struct gate_zip z;
		bool jar = true;
		if (gate_zip_open(fd, &z, NULL) == GATE_OK) {
			jar = gate_zip_find(&z, "META-INF/MANIFEST.MF") >= 0;
			gate_zip_close(&z);
		}
		return jar ? GATE_CS_JAR : GATE_CS_NONE;
	}
	return GATE_CS_NONE;
}

enum gate_err gate_codesign_count(const struct gate_cs_input *in, size_t *n, struct gate_error *err)
{
	*n = 0;
	switch (in ? in->format : GATE_CS_NONE) {
	case GATE_CS_CMS:
		return gate_cms_count(in, n, err);
	case GATE_CS_PE:
		return gate_pe_count(in, n, err);
	case GATE_CS_JAR:
		return gate_jar_count(in, n, err);
	default:
		return gate_fail(err, GATE_E_USAGE, NULL, "format", "no signature format");
	}
}

enum gate_err gate_verify_codesign(const struct gate_cs_input *in, const struct gate_cs_opts *o,
				   struct gate_facts **out, struct gate_error *err)
{
	struct gate_cs_opts co;
	if (!in || !o || !o->trust || !out)
		return gate_fail(err, GATE_E_USAGE, NULL, "x509", "missing argument");
	co = *o;
	if (!co.now)
		co.now = (int64_t)time(NULL);
	enum gate_err rc;
	switch (in->format) {
	case GATE_CS_CMS:
		rc = gate_cms_verify(in, &co, out, err);
		break;
	case GATE_CS_PE:
		rc = gate_pe_verify(in, &co, out, err);
		break;
	case GATE_CS_JAR:
		rc = gate_jar_verify(in, &co, out, err);
		break;
	default:
		return gate_fail(err, GATE_E_USAGE, NULL, "format", "no signature format");
	}
	ERR_clear_error();
	if (rc == GATE_OK && in->sha256)
		gate_hex_encode(in->sha256, 32, (*out)->digest);
	return rc;
}
