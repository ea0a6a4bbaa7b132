/* cert.c - Fulcio leaf certificates: chain (S4, S14), SCT (S15) and identity
 * (S16). */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CERT_FIELD "verificationMaterial.certificate"

/* A Fulcio identity or extension value is a URL, a digest or a short name;
 * anything longer is not text we want to hand to a policy. */
#define CERT_MAX_VALUE 4096
/* Embedded SCTs in one certificate (Fulcio adds one or two). */
#define CERT_MAX_SCTS 16
/* Fulcio's private arc: 1.3.6.1.4.1.57264.1.<n>. */
#define FULCIO_ARC "1.3.6.1.4.1.57264.1."
#define FULCIO_MAX_ARC 22

/* ---- S14: chain ---- */

static bool push_ref(STACK_OF(X509) *sk, X509 *x)
{
	if (!X509_up_ref(x))
		return false;
	if (!sk_X509_push(sk, x)) {
		X509_free(x);
		return false;
	}
	return true;
}

/* The leaf profile Fulcio issues: keyUsage digitalSignature, EKU codeSigning
 * (both extensions present), and t inside [notBefore, notAfter]. */
static enum gate_err check_leaf(X509 *leaf, int64_t t, struct gate_error *err)
{
	uint32_t flags = X509_get_extension_flags(leaf);
	int64_t nb, na;
	char ts[32];
	if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
		return gate_fail(err, GATE_E_CERT, "S14", CERT_FIELD,
				 "leaf keyUsage lacks digitalSignature");
	if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN))
		return gate_fail(err, GATE_E_CERT, "S14", CERT_FIELD,
				 "leaf extendedKeyUsage lacks codeSigning");
	if (!gate_asn1_time_to_unix(X509_get0_notBefore(leaf), &nb) ||
	    !gate_asn1_time_to_unix(X509_get0_notAfter(leaf), &na))
		return gate_fail(err, GATE_E_CERT, "S14", CERT_FIELD, "unreadable leaf validity");
	if (t < nb || t > na) {
		gate_format_time(t, ts);
		return gate_fail(err, GATE_E_CERT, "S14", CERT_FIELD,
				 "time %s outside the leaf's validity", ts);
	}
	return GATE_OK;
}

/* Verify leaf against one CA at time t. Returns GATE_OK with *issuer set
 * (up-ref'd) on success; otherwise GATE_E_CERT with the OpenSSL reason. */
static enum gate_err verify_with_ca(X509 *leaf, STACK_OF(X509) *untrusted,
				    const struct gate_authority *ca, size_t idx, int64_t t,
				    X509 **issuer, bool *chained, struct gate_error *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *helpers = NULL;
	enum gate_err rc = GATE_E_CERT;
	char ts[32];
	STACK_OF(X509) *cachain = gate_authority_chain(ca);
	int n = cachain ? sk_X509_num(cachain) : 0;
	gate_format_time(t, ts);
	if (n <= 0) {
		rc = gate_fail(err, GATE_E_CERT, "S14", CERT_FIELD,
			       "certificateAuthorities[%zu] has no certificates", idx);
		goto out;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	helpers = sk_X509_new_null();
	if (!store || !ctx || !helpers)
		goto nomem;
	/* Every certificate of the CA's chain comes from the trusted root, so
	 * each is an anchor: with partial chains the path ends at the first
	 * of them (usually the intermediate) and the root's own signature over
	 * it is not checked again on every verification. */
	for (int i = 0; i < n; i++)
		if (!X509_STORE_add_cert(store, sk_X509_value(cachain, i)))
			goto nomem;
	for (int i = 0; untrusted && i < sk_X509_num(untrusted); i++)
		if (!push_ref(helpers, sk_X509_value(untrusted, i)))
			goto nomem;
	/* Validity is checked at t.
	 * X509_STRICT adds the RFC 5280 profile checks (key identifiers,
	 * critical SAN on an empty subject, CA constraints); every Fulcio
	 * chain in the conformance suite passes them. */
	X509_VERIFY_PARAM *param = X509_STORE_get0_param(store);
	X509_VERIFY_PARAM_set_time(param, (time_t)t);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	X509_STORE_set_verify_cb(store, gate_x509_verify_cb);
	if (!X509_STORE_CTX_init(ctx, store, leaf, helpers))
		goto nomem;
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		rc = gate_fail(err, GATE_E_CERT, "S14", CERT_FIELD,
			       "chain does not verify to certificateAuthorities[%zu] at %s: %s "
			       "(depth %d)",
			       idx, ts, X509_verify_cert_error_string(e),
			       X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	if (!chain || sk_X509_num(chain) < 2) {
		rc = gate_fail(err, GATE_E_CERT, "S14", CERT_FIELD,
			       "leaf is itself a trust anchor");
		goto out;
	}
	*chained = true;
	if ((rc = check_leaf(leaf, t, err)) != GATE_OK)
		goto out;
	if (issuer) {
		X509 *x = sk_X509_value(chain, 1);
		if (!X509_up_ref(x))
			goto nomem;
		*issuer = x;
	}
	rc = GATE_OK;
	goto out;
nomem:
	rc = gate_fail(err, GATE_E_NOMEM, NULL, CERT_FIELD, "out of memory");
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(helpers, X509_free);
	X509_STORE_free(store);
	return rc;
}

enum gate_err gate_cert_verify_chain(X509 *leaf, STACK_OF(X509) *untrusted,
				     const struct gate_trusted_root *root, int64_t t, X509 **issuer,
				     struct gate_error *err)
{
	enum gate_err rc;
	char ts[32];
	if (!leaf || !root)
		return gate_fail(err, GATE_E_USAGE, "S14", CERT_FIELD, "missing argument");
	if (untrusted && sk_X509_num(untrusted) > GATE_MAX_CHAIN)
		return gate_fail(err, GATE_E_CERT, "S4", CERT_FIELD,
				 "more than %d certificates in the bundle chain", GATE_MAX_CHAIN);
	/* S4: a root in the bundle would let the bundle vouch for itself;
	 * intermediates are only hints. */
	for (int i = 0; untrusted && i < sk_X509_num(untrusted); i++) {
		if (X509_self_signed(sk_X509_value(untrusted, i), 0) != 0) {
			ERR_clear_error();
			return gate_fail(err, GATE_E_CERT, "S4", CERT_FIELD,
					 "bundle chain certificate %d is self-signed", i + 1);
		}
	}
	gate_format_time(t, ts);
	rc = gate_fail(err, GATE_E_CERT, "S14", CERT_FIELD,
		       "no certificate authority in the trusted root is valid at %s", ts);
	for (size_t i = 0; i < root->ncas; i++) {
		bool chained = false;
		if (!gate_validity_contains(&root->cas[i].valid, t))
			continue;
		rc = verify_with_ca(leaf, untrusted, &root->cas[i], i, t, issuer, &chained, err);
		/* The leaf profile does not depend on the CA: once a path
		 * verified, its verdict is final. */
		if (rc == GATE_OK || rc == GATE_E_NOMEM || chained)
			break;
	}
	return rc;
}

/* ---- S15: embedded SCTs (RFC 6962 §3.2) ---- */

struct sct {
	const uint8_t *log_id; /* 32 bytes */
	uint64_t ts;	       /* ms since the epoch */
	const uint8_t *ext;
	size_t ext_len;
	uint8_t hash_alg, sig_alg;
	const uint8_t *sig;
	size_t sig_len;
};

static bool parse_sct(const uint8_t *p, size_t n, struct sct *s)
{
	struct gate_rd r = {p, n};
	uint64_t v, len;
	const uint8_t *b;
	if (!gate_rd_uint(&r, 1, &v) || v != 0) /* v1 */
		return false;
	if (!gate_rd_bytes(&r, 32, &s->log_id) || !gate_rd_uint(&r, 8, &s->ts) ||
	    !gate_rd_uint(&r, 2, &len) || !gate_rd_bytes(&r, len, &s->ext))
		return false;
	s->ext_len = len;
	if (!gate_rd_uint(&r, 1, &v))
		return false;
	s->hash_alg = (uint8_t)v;
	if (!gate_rd_uint(&r, 1, &v))
		return false;
	s->sig_alg = (uint8_t)v;
	if (!gate_rd_uint(&r, 2, &len) || len == 0 || !gate_rd_bytes(&r, len, &b))
		return false;
	s->sig = b;
	s->sig_len = len;
	return r.n == 0;
}

/* The TBSCertificate of leaf without its SCT list: what the log signed as
 * the precertificate (the poison extension is already gone in the final
 * certificate). */
static enum gate_err precert_tbs(X509 *leaf, uint8_t **out, size_t *len)
{
	X509 *dup = X509_dup(leaf);
	enum gate_err rc = GATE_E_NOMEM;
	int idx, n;
	if (!dup)
		goto out;
	while ((idx = X509_get_ext_by_NID(dup, NID_ct_precert_scts, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(dup, idx));
	unsigned char *der = NULL;
	if ((n = i2d_re_X509_tbs(dup, &der)) <= 0) {
		rc = GATE_E_INTERNAL;
		goto out;
	}
	*out = der;
	*len = (size_t)n;
	rc = GATE_OK;
out:
	X509_free(dup);
	return rc;
}

/* signed data = 0x00 v1 || 0x00 certificate_timestamp || ts || 0x0001
 * precert_entry || SHA-256(issuer SPKI) || uint24 len || TBS || uint16 len
 * || extensions. */
static bool sct_signed_data(const struct sct *s, const uint8_t issuer_hash[32], const uint8_t *tbs,
			    size_t tbs_len, uint8_t **out, size_t *len)
{
	if (tbs_len > 0xffffff || s->ext_len > 0xffff)
		return false;
	size_t n = 1 + 1 + 8 + 2 + 32 + 3 + tbs_len + 2 + s->ext_len;
	uint8_t *b = malloc(n), *p = b;
	if (!b)
		return false;
	*p++ = 0;
	*p++ = 0;
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)(s->ts >> (8 * i));
	*p++ = 0;
	*p++ = 1;
	memcpy(p, issuer_hash, 32);
	p += 32;
	*p++ = (uint8_t)(tbs_len >> 16);
	*p++ = (uint8_t)(tbs_len >> 8);
	*p++ = (uint8_t)tbs_len;
	memcpy(p, tbs, tbs_len);
	p += tbs_len;
	*p++ = (uint8_t)(s->ext_len >> 8);
	*p++ = (uint8_t)s->ext_len;
	if (s->ext_len)
		memcpy(p, s->ext, s->ext_len);
	*out = b;
	*len = n;
	return true;
}

/* TLS hash sha256(4); signature ecdsa(3) or rsa(1), matching the key. */
static bool sct_sig_ok(const struct sct *s, EVP_PKEY *key, const uint8_t *msg, size_t len)
{
	int type = EVP_PKEY_get_base_id(key);
	if (s->hash_alg != 4 || !((s->sig_alg == 3 && type == EVP_PKEY_EC) ||
				  (s->sig_alg == 1 && type == EVP_PKEY_RSA)))
		return false;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
		  EVP_DigestVerify(md, s->sig, s->sig_len, msg, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* Does one SCT verify under a root CT log with its logId that was valid
 * at the SCT's time? */
static bool sct_verifies(const struct sct *s, const struct gate_trusted_root *root,
			 const uint8_t issuer_hash[32], const uint8_t *tbs, size_t tbs_len)
{
	uint8_t *msg = NULL;
	size_t len = 0;
	bool ok = false;
	int64_t when = (int64_t)(s->ts / 1000);
	if (s->ts > (uint64_t)INT64_MAX ||
	    !sct_signed_data(s, issuer_hash, tbs, tbs_len, &msg, &len))
		return false;
	for (size_t i = 0; i < root->nctlogs && !ok; i++) {
		const struct gate_log *l = &root->ctlogs[i];
		if (memcmp(l->log_id, s->log_id, 32) != 0 ||
		    !gate_validity_contains(&l->valid, when) || !gate_log_key(l))
			continue;
		ok = sct_sig_ok(s, gate_log_key(l)->pkey, msg, len);
	}
	free(msg);
	return ok;
}

/* The extension holds an OCTET STRING wrapping the TLS SignedCertificate-
 * TimestampList: uint16 total, then uint16-prefixed SCTs. */
static enum gate_err sct_list(X509 *leaf, ASN1_OCTET_STRING **out, struct gate_error *err)
{
	int idx = X509_get_ext_by_NID(leaf, NID_ct_precert_scts, -1);
	if (idx < 0)
		return gate_fail(err, GATE_E_SCT, "S15", CERT_FIELD,
				 "certificate has no embedded SCT list");
	if (X509_get_ext_by_NID(leaf, NID_ct_precert_scts, idx) >= 0)
		return gate_fail(err, GATE_E_SCT, "S15", CERT_FIELD,
				 "certificate has more than one SCT list");
	ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
	const unsigned char *p = ASN1_STRING_get0_data(v);
	long n = ASN1_STRING_length(v);
	ASN1_OCTET_STRING *inner = d2i_ASN1_OCTET_STRING(NULL, &p, n);
	if (!inner || p != ASN1_STRING_get0_data(v) + n) {
		ASN1_OCTET_STRING_free(inner);
		ERR_clear_error();
		return gate_fail(err, GATE_E_SCT, "S15", CERT_FIELD,
				 "SCT list extension is not an OCTET STRING");
	}
	*out = inner;
	return GATE_OK;
}

enum gate_err gate_sct_verify(X509 *leaf, X509 *issuer, const struct gate_trusted_root *root,
			      struct gate_error *err)
{
	ASN1_OCTET_STRING *list = NULL;
	uint8_t *tbs = NULL, *spki = NULL;
	size_t tbs_len = 0;
	uint8_t issuer_hash[32];
	uint64_t total;
	enum gate_err rc;
	int spki_len;
	if (!leaf || !issuer || !root)
		return gate_fail(err, GATE_E_USAGE, "S15", CERT_FIELD, "missing argument");
	if ((rc = sct_list(leaf, &list, err)) != GATE_OK)
		goto out;
	struct gate_rd r = {ASN1_STRING_get0_data(list), (size_t)ASN1_STRING_length(list)};
	if (!gate_rd_uint(&r, 2, &total) || total != r.n || total == 0) {
		rc = gate_fail(err, GATE_E_SCT, "S15", CERT_FIELD, "malformed SCT list");
		goto out;
	}
	if ((spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &spki)) <= 0) {
		rc = gate_fail(err, GATE_E_INTERNAL, "S15", CERT_FIELD,
			       "cannot encode the issuer key");
		goto out;
	}
	gate_sha256(spki, (size_t)spki_len, issuer_hash);
	if ((rc = precert_tbs(leaf, &tbs, &tbs_len)) != GATE_OK) {
		gate_fail(err, rc, "S15", CERT_FIELD, "cannot rebuild the precertificate");
		goto out;
	}
	rc = gate_fail(err, GATE_E_SCT, "S15", CERT_FIELD,
		       "no SCT from a CT log in the trusted root verified");
	for (size_t i = 0; r.n > 0; i++) {
		uint64_t len;
		const uint8_t *b;
		struct sct s;
		if (i >= CERT_MAX_SCTS) {
			rc = gate_fail(err, GATE_E_SCT, "S15", CERT_FIELD,
				       "more than %d SCTs in the list", CERT_MAX_SCTS);
			goto out;
		}
		if (!gate_rd_uint(&r, 2, &len) || !gate_rd_bytes(&r, len, &b) ||
		    !parse_sct(b, len, &s)) {
			rc = gate_fail(err, GATE_E_SCT, "S15", CERT_FIELD,
				       "malformed SCT %zu in the list", i);
			goto out;
		}
		if (sct_verifies(&s, root, issuer_hash, tbs, tbs_len)) {
			rc = GATE_OK;
			break;
		}
	}
out:
	ERR_clear_error();
	OPENSSL_free(tbs);
	OPENSSL_free(spki);
	ASN1_OCTET_STRING_free(list);
	return rc;
}

/* ---- S16: identity and Fulcio extensions ---- */

static const char *const ext_names[FULCIO_MAX_ARC + 1] = {
	[2] = "github_workflow_trigger",
	[3] = "github_workflow_sha",
	[4] = "github_workflow_name",
	[5] = "github_workflow_repository",
	[6] = "github_workflow_ref",
	[9] = "build_signer_uri",
	[10] = "build_signer_digest",
	[11] = "runner_environment",
	[12] = "source_repository_uri",
	[13] = "source_repository_digest",
	[14] = "source_repository_ref",
	[15] = "source_repository_identifier",
	[16] = "source_repository_owner_uri",
	[17] = "source_repository_owner_identifier",
	[18] = "build_config_uri",
	[19] = "build_config_digest",
	[20] = "build_trigger",
	[21] = "run_invocation_uri",
	[22] = "source_repository_visibility_at_signing",
};

/* Well-formed UTF-8 with no NUL, C0 control or DEL: safe to compare, print
 * and hand to a regexp. */
static bool valid_text(const uint8_t *s, size_t n)
{
	if (n > CERT_MAX_VALUE)
		return false;
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		/* overlong, surrogate or beyond U+10FFFF */
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += k + 1;
	}
	return true;
}

static enum gate_err text_dup(const uint8_t *s, size_t n, char **out, const char *what,
			      struct gate_error *err)
{
	if (!valid_text(s, n))
		return gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD,
				 "%s is not printable UTF-8 text of at most %d bytes", what,
				 CERT_MAX_VALUE);
	char *d = malloc(n + 1);
	if (!d)
		return gate_fail(err, GATE_E_NOMEM, NULL, CERT_FIELD, "out of memory");
	if (n)
		memcpy(d, s, n);
	d[n] = '\0';
	*out = d;
	return GATE_OK;
}

static enum gate_err asn1_text_dup(const ASN1_STRING *s, char **out, const char *what,
				   struct gate_error *err)
{
	return text_dup(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), out, what, err);
}

/* An extension value that is a DER UTF8String, exactly. */
static enum gate_err der_utf8_dup(const ASN1_OCTET_STRING *v, char **out, const char *what,
				  struct gate_error *err)
{
	const unsigned char *p = ASN1_STRING_get0_data(v);
	long n = ASN1_STRING_length(v);
	ASN1_UTF8STRING *u = d2i_ASN1_UTF8STRING(NULL, &p, n);
	enum gate_err rc;
	if (!u || p != ASN1_STRING_get0_data(v) + n) {
		ERR_clear_error();
		rc = gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD, "%s is not a DER UTF8String",
			       what);
	} else {
		rc = asn1_text_dup(u, out, what, err);
	}
	ASN1_UTF8STRING_free(u);
	return rc;
}

/* Index each Fulcio extension 1.3.6.1.4.1.57264.1.<n> (n <= 22) of leaf;
 * a repeated one is ambiguous and rejected. */
static enum gate_err index_fulcio(X509 *leaf, X509_EXTENSION *by_arc[FULCIO_MAX_ARC + 1],
				  struct gate_error *err)
{
	const size_t plen = strlen(FULCIO_ARC);
	for (int i = 0; i < X509_get_ext_count(leaf); i++) {
		X509_EXTENSION *e = X509_get_ext(leaf, i);
		char oid[80], *end;
		int n = OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(e), 1);
		if (n <= 0 || (size_t)n >= sizeof oid || strncmp(oid, FULCIO_ARC, plen) != 0)
			continue;
		const char *arc = oid + plen;
		if (arc[0] < '1' || arc[0] > '9')
			continue;
		unsigned long v = strtoul(arc, &end, 10);
		if (*end != '\0' || v > FULCIO_MAX_ARC)
			continue;
		if (by_arc[v])
			return gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD,
					 "extension %s appears twice", oid);
		by_arc[v] = e;
	}
	return GATE_OK;
}

/* S16 issuer: 1.8 (DER UTF8String) else legacy 1.1 (raw bytes); when both
 * are present they must agree. */
static enum gate_err oidc_issuer(X509_EXTENSION *const by_arc[FULCIO_MAX_ARC + 1], char **out,
				 struct gate_error *err)
{
	char *v2 = NULL, *v1 = NULL;
	enum gate_err rc = GATE_OK;
	if (by_arc[8])
		rc = der_utf8_dup(X509_EXTENSION_get_data(by_arc[8]), &v2, "OIDC issuer", err);
	if (rc == GATE_OK && by_arc[1])
		rc = asn1_text_dup(X509_EXTENSION_get_data(by_arc[1]), &v1, "legacy OIDC issuer",
				   err);
	if (rc != GATE_OK)
		goto out;
	if (!v1 && !v2) {
		rc = gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD,
			       "certificate has no OIDC issuer extension");
		goto out;
	}
	if (v1 && v2 && strcmp(v1, v2) != 0) {
		rc = gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD,
			       "OIDC issuer extensions disagree: '%s' and '%s'", v2, v1);
		goto out;
	}
	*out = v2 ? v2 : v1;
	if (v2)
		v2 = NULL;
	else
		v1 = NULL;
out:
	free(v1);
	free(v2);
	return rc;
}

/* S16 identity: the first SAN URI, else the first rfc822Name, else the
 * first otherName 1.3.6.1.4.1.57264.1.7 holding a UTF8String. */
static enum gate_err san_identity(X509 *leaf, char **out, struct gate_error *err)
{
	int crit = 0;
	GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	const GENERAL_NAME *pick[3] = {NULL, NULL, NULL};
	ASN1_OBJECT *other = OBJ_txt2obj(FULCIO_ARC "7", 1);
	enum gate_err rc;
	if (!other) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, CERT_FIELD, "out of memory");
		goto out;
	}
	if (!names) {
		rc = gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD, "%s",
			       crit == -1   ? "certificate has no subjectAltName"
			       : crit == -2 ? "more than one subjectAltName extension"
					    : "subjectAltName does not parse");
		goto out;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (g->type == GEN_URI && !pick[0])
			pick[0] = g;
		else if (g->type == GEN_EMAIL && !pick[1])
			pick[1] = g;
		else if (g->type == GEN_OTHERNAME && !pick[2] &&
			 OBJ_cmp(g->d.otherName->type_id, other) == 0)
			pick[2] = g;
	}
	if (pick[0])
		rc = asn1_text_dup(pick[0]->d.uniformResourceIdentifier, out, "SAN URI", err);
	else if (pick[1])
		rc = asn1_text_dup(pick[1]->d.rfc822Name, out, "SAN email", err);
	else if (pick[2] && pick[2]->d.otherName->value &&
		 pick[2]->d.otherName->value->type == V_ASN1_UTF8STRING)
		rc = asn1_text_dup(pick[2]->d.otherName->value->value.utf8string, out,
				   "SAN otherName", err);
	else if (pick[2])
		rc = gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD,
			       "SAN otherName is not a UTF8String");
	else
		rc = gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD,
			       "subjectAltName has no URI, email or Fulcio otherName");
out:
	ERR_clear_error();
	ASN1_OBJECT_free(other);
	GENERAL_NAMES_free(names);
	return rc;
}

/* One line, RFC 2253, with controls and non-ASCII bytes escaped by
 * OpenSSL. */
static enum gate_err subject_line(X509 *leaf, char **out, struct gate_error *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	enum gate_err rc = GATE_E_NOMEM;
	long n;
	if (!b || X509_NAME_print_ex(b, X509_get_subject_name(leaf), 0, XN_FLAG_RFC2253) < 0)
		goto out;
	n = BIO_get_mem_data(b, &data);
	if (n < 0 || !(*out = strndup(data ? data : "", (size_t)n)))
		goto out;
	rc = GATE_OK;
out:
	ERR_clear_error();
	BIO_free(b);
	if (rc != GATE_OK)
		return gate_fail(err, rc, NULL, CERT_FIELD, "out of memory");
	return rc;
}

static void exts_clear(struct gate_fact_ext *exts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(exts[i].value);
		exts[i].value = NULL;
		exts[i].name = NULL;
	}
}

enum gate_err gate_cert_identity(X509 *leaf, struct gate_facts *f, struct gate_error *err)
{
	X509_EXTENSION *by_arc[FULCIO_MAX_ARC + 1] = {0};
	struct gate_fact_ext exts[GATE_MAX_FACT_EXTS] = {{0}};
	char *identity = NULL, *issuer = NULL, *subject = NULL;
	size_t n = 0;
	enum gate_err rc;
	if (!leaf || !f)
		return gate_fail(err, GATE_E_USAGE, "S16", CERT_FIELD, "missing argument");
	if ((rc = index_fulcio(leaf, by_arc, err)) != GATE_OK ||
	    (rc = san_identity(leaf, &identity, err)) != GATE_OK ||
	    (rc = oidc_issuer(by_arc, &issuer, err)) != GATE_OK ||
	    (rc = subject_line(leaf, &subject, err)) != GATE_OK)
		goto out;
	for (int arc = 2; arc <= FULCIO_MAX_ARC; arc++) {
		if (!ext_names[arc] || !by_arc[arc])
			continue;
		if (n == GATE_MAX_FACT_EXTS) {
			rc = gate_fail(err, GATE_E_CERT, "S16", CERT_FIELD,
				       "more than %d Fulcio extensions", GATE_MAX_FACT_EXTS);
			goto out;
		}
		ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(by_arc[arc]);
		/* 1.2-1.6 are raw strings; 1.9 onwards DER UTF8Strings. */
		rc = arc <= 6 ? asn1_text_dup(v, &exts[n].value, ext_names[arc], err)
			      : der_utf8_dup(v, &exts[n].value, ext_names[arc], err);
		if (rc != GATE_OK)
			goto out;
		exts[n++].name = ext_names[arc];
	}
	/* Commit only on success, replacing whatever f held. */
	free(f->identity);
	free(f->issuer);
	free(f->subject);
	exts_clear(f->exts, f->n_exts < GATE_MAX_FACT_EXTS ? f->n_exts : GATE_MAX_FACT_EXTS);
	f->identity = identity;
	f->issuer = issuer;
	f->subject = subject;
	memcpy(f->exts, exts, sizeof exts);
	f->n_exts = n;
	identity = issuer = subject = NULL;
	n = 0;
	rc = GATE_OK;
out:
	exts_clear(exts, n);
	free(identity);
	free(issuer);
	free(subject);
	return rc;
}
