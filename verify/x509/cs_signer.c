/* cs_signer.c - one PKCS#7/CMS SignerInfo: its digest algorithm, signed
 * attributes and signature (RFC 5652 §5.4-5.6), and its timestamp: an
 * RFC 3161 token or a PKCS#9 countersignature (RFC 2985 §5.3.6) verified
 * against the policy's TSA roots. */
#include "codesign.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Microsoft's RFC 3161 timestamp attribute (Authenticode). */
#define OID_MS_RFC3161 "1.3.6.1.4.1.311.3.3.1"

/* ---- parsing ---- */

static enum gate_err from_pem(const uint8_t *buf, size_t len, const char *field, uint8_t **der,
			      size_t *dlen, struct gate_error *err)
{
	if (gate_pem_decode(buf, len, "PKCS7", der, dlen) ||
	    gate_pem_decode(buf, len, "CMS", der, dlen))
		return GATE_OK;
	return gate_fail(err, GATE_E_PARSE, "C2", field, "neither DER nor one PEM PKCS7/CMS block");
}

enum gate_err gate_cs_parse_p7(const uint8_t *buf, size_t len, bool pem_ok, const char *field,
			       PKCS7 **out, struct gate_error *err)
{
	uint8_t *der = NULL;
	size_t dlen = len;
	PKCS7 *p7 = NULL;
	enum gate_err rc = GATE_E_PARSE;
	const uint8_t *in = buf;
	if (len > GATE_CS_MAX_SIG)
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", field,
				 "signature is %zu bytes, over the %u-byte limit", len,
				 GATE_CS_MAX_SIG);
	if (pem_ok && len > 0 && buf[0] != 0x30) {
		if ((rc = from_pem(buf, len, field, &der, &dlen, err)) != GATE_OK)
			return rc;
		in = der;
	}
	const unsigned char *p = in;
	if (dlen == 0 || dlen > GATE_CS_MAX_SIG || !(p7 = d2i_PKCS7(NULL, &p, (long)dlen))) {
		rc = gate_fail(err, GATE_E_PARSE, "C2", field, "not a DER PKCS#7/CMS ContentInfo");
		goto out;
	}
	if (p != in + dlen) {
		rc = gate_fail(err, GATE_E_PARSE, "C2", field,
			       "%zu trailing bytes after the signature", (size_t)(in + dlen - p));
		goto out;
	}
	if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents) {
		rc = gate_fail(err, GATE_E_PARSE, "C2", field, "not a SignedData");
		goto out;
	}
	if (sk_X509_num(p7->d.sign->cert) > GATE_CS_MAX_CERTS) {
		rc = gate_fail(err, GATE_E_TOO_LARGE, "C1", field,
			       "more than %d certificates in the signature", GATE_CS_MAX_CERTS);
		goto out;
	}
	int ns = sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info);
	if (ns <= 0 || ns > GATE_CS_MAX_SIGS) {
		rc = gate_fail(err, GATE_E_PARSE, "C2", field, "%d signers (1 to %d allowed)", ns,
			       GATE_CS_MAX_SIGS);
		goto out;
	}
	*out = p7;
	p7 = NULL;
	rc = GATE_OK;
out:
	ERR_clear_error();
	PKCS7_free(p7);
	free(der);
	return rc;
}

/* ---- algorithms ---- */

static enum gate_err md_of(const X509_ALGOR *alg, const char *what, const char *field,
			   const EVP_MD **md, struct gate_error *err)
{
	const ASN1_OBJECT *obj = NULL;
	int ptype = V_ASN1_UNDEF;
	const void *pval = NULL;
	if (!alg)
		return gate_fail(err, GATE_E_PARSE, "C3", field, "%s has no algorithm", what);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_sha256:
		*md = EVP_sha256();
		break;
	case NID_sha384:
		*md = EVP_sha384();
		break;
	case NID_sha512:
		*md = EVP_sha512();
		break;
	case NID_sha1:
	case NID_md5:
		return gate_fail(err, GATE_E_UNSUPPORTED, "C3", field,
				 "%s uses %s, which is not accepted (SHA-256, -384 or -512 only)",
				 what, OBJ_nid2sn(OBJ_obj2nid(obj)));
	default:
		return gate_fail(err, GATE_E_UNSUPPORTED, "C3", field,
				 "%s uses an unsupported digest algorithm", what);
	}
	if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		return gate_fail(err, GATE_E_PARSE, "C3", field,
				 "%s digest algorithm has parameters", what);
	return GATE_OK;
}

enum gate_err gate_cs_signer_md(PKCS7_SIGNER_INFO *si, const char *field, const EVP_MD **md,
				struct gate_error *err)
{
	return md_of(si->digest_alg, "the signer", field, md, err);
}

/* The signature algorithm must fit the key (and name the same digest when
 * it names one). RSASSA-PSS is not supported. */
static enum gate_err check_sig_alg(const X509_ALGOR *alg, EVP_PKEY *key, const EVP_MD *md,
				   const char *field, struct gate_error *err)
{
	const ASN1_OBJECT *obj = NULL;
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	int nid = OBJ_obj2nid(obj), mdnid = NID_undef, pknid = nid;
	if (nid != NID_undef && OBJ_find_sigid_algs(nid, &mdnid, &pknid) && mdnid != NID_undef &&
	    mdnid != EVP_MD_get_type(md))
		return gate_fail(err, GATE_E_SIGNATURE, "C3", field,
				 "signature algorithm's digest differs from the signer's");
	int kid = EVP_PKEY_get_base_id(key);
	bool ok = (kid == EVP_PKEY_RSA && pknid == NID_rsaEncryption) ||
		  (kid == EVP_PKEY_EC && pknid == NID_X9_62_id_ecPublicKey) ||
		  (kid == EVP_PKEY_DSA && (pknid == NID_dsa || pknid == NID_dsaWithSHA1));
	if (!ok)
		return gate_fail(err, GATE_E_UNSUPPORTED, "C3", field,
				 "signature algorithm %s does not fit the certificate's key",
				 nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
	return GATE_OK;
}

/* Verify sig over a message whose md digest is dgst. */
static enum gate_err verify_digest(EVP_PKEY *key, const EVP_MD *md, const uint8_t *dgst,
				   size_t dlen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key, NULL);
	bool ok = pc && EVP_PKEY_verify_init(pc) == 1 &&
		  EVP_PKEY_CTX_set_signature_md(pc, md) == 1 &&
		  EVP_PKEY_verify(pc, sig, siglen, dgst, dlen) == 1;
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok ? GATE_OK : GATE_E_SIGNATURE;
}

static X509 *find_signer(PKCS7 *p7, PKCS7_SIGNER_INFO *si)
{
	PKCS7_ISSUER_AND_SERIAL *ias = si->issuer_and_serial;
	if (!ias || !ias->issuer || !ias->serial)
		return NULL;
	return X509_find_by_issuer_and_serial(p7->d.sign->cert, ias->issuer, ias->serial);
}

/* The signed attributes as the signature covers them: the DER of the SET
 * OF in the order received (RFC 5652 §5.4). */
static enum gate_err attrs_digest(PKCS7_SIGNER_INFO *si, const EVP_MD *md, uint8_t *out,
				  unsigned *outlen, const char *field, struct gate_error *err)
{
	unsigned char *abuf = NULL;
	int alen = ASN1_item_i2d((ASN1_VALUE *)si->auth_attr, &abuf,
				 ASN1_ITEM_rptr(PKCS7_ATTR_VERIFY));
	bool ok = alen > 0 && EVP_Digest(abuf, (size_t)alen, out, outlen, md, NULL) == 1;
	OPENSSL_free(abuf);
	ERR_clear_error();
	return ok ? GATE_OK
		  : gate_fail(err, GATE_E_PARSE, "C4", field, "unencodable signed attributes");
}

enum gate_err gate_cs_signer_check(PKCS7 *p7, PKCS7_SIGNER_INFO *si, const ASN1_OBJECT *ctype,
				   const uint8_t *digest, size_t dlen, bool attrs_optional,
				   const char *field, X509 **signer, struct gate_error *err)
{
	const EVP_MD *md = NULL;
	enum gate_err rc = gate_cs_signer_md(si, field, &md, err);
	if (rc != GATE_OK)
		return rc;
	X509 *cert = find_signer(p7, si);
	if (!cert)
		return gate_fail(err, GATE_E_SIGNATURE, "C4", field,
				 "the signer's certificate is not in the signature");
	EVP_PKEY *key = X509_get0_pubkey(cert);
	ERR_clear_error();
	if (!key)
		return gate_fail(err, GATE_E_CERT, "C4", field,
				 "signer's public key does not decode");
	if ((rc = check_sig_alg(si->digest_enc_alg, key, md, field, err)) != GATE_OK)
		return rc;
	if (!si->enc_digest || ASN1_STRING_length(si->enc_digest) <= 0)
		return gate_fail(err, GATE_E_PARSE, "C4", field, "empty signature value");
	const uint8_t *sig = ASN1_STRING_get0_data(si->enc_digest);
	size_t siglen = (size_t)ASN1_STRING_length(si->enc_digest);
	if (sk_X509_ATTRIBUTE_num(si->auth_attr) <= 0) {
		if (!attrs_optional)
			return gate_fail(err, GATE_E_PARSE, "C4", field,
					 "the signer has no signed attributes");
		if (verify_digest(key, md, digest, dlen, sig, siglen) != GATE_OK)
			return gate_fail(err, GATE_E_SIGNATURE, "C4", field,
					 "signature does not verify over the content");
		*signer = cert;
		return GATE_OK;
	}
	ASN1_TYPE *ct = PKCS7_get_signed_attribute(si, NID_pkcs9_contentType);
	if (!ct || ct->type != V_ASN1_OBJECT || OBJ_cmp(ct->value.object, ctype) != 0)
		return gate_fail(err, GATE_E_SIGNATURE, "C4", field,
				 "signed contentType attribute missing or not the content's type");
	ASN1_TYPE *mdv = PKCS7_get_signed_attribute(si, NID_pkcs9_messageDigest);
	if (!mdv || mdv->type != V_ASN1_OCTET_STRING ||
	    (size_t)ASN1_STRING_length(mdv->value.octet_string) != dlen ||
	    !gate_ct_eq(ASN1_STRING_get0_data(mdv->value.octet_string), digest, dlen))
		return gate_fail(err, GATE_E_DIGEST, "C4", field,
				 "messageDigest attribute is not the digest of the signed content");
	uint8_t ad[EVP_MAX_MD_SIZE];
	unsigned adlen = 0;
	if ((rc = attrs_digest(si, md, ad, &adlen, field, err)) != GATE_OK)
		return rc;
	if (verify_digest(key, md, ad, adlen, sig, siglen) != GATE_OK)
		return gate_fail(err, GATE_E_SIGNATURE, "C4", field,
				 "signature does not verify over the signed attributes");
	*signer = cert;
	return GATE_OK;
}

/* ---- timestamps ---- */

static X509_STORE *tsa_store(const struct gate_x509_trust *t, int64_t at)
{
	X509_STORE *s = X509_STORE_new();
	if (!s)
		return NULL;
	for (size_t i = 0; i < t->ntsas; i++)
		for (int k = 0; k < sk_X509_num(t->tsas[i].certs); k++)
			if (!X509_STORE_add_cert(s, sk_X509_value(t->tsas[i].certs, k)))
				ERR_clear_error(); /* a duplicate */
	X509_VERIFY_PARAM *p = X509_STORE_get0_param(s);
	X509_VERIFY_PARAM_set_time(p, (time_t)at);
	X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_set_verify_cb(s, gate_x509_verify_cb);
	return s;
}

/* The imprint must be the hash of the signature value, under the
 * imprint's algorithm. */
static bool imprint_ok(TS_TST_INFO *tst, const ASN1_OCTET_STRING *sigval, char *why, size_t n)
{
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
	X509_ALGOR *alg = mi ? TS_MSG_IMPRINT_get_algo(mi) : NULL;
	ASN1_OCTET_STRING *msg = mi ? TS_MSG_IMPRINT_get_msg(mi) : NULL;
	const EVP_MD *md = NULL;
	uint8_t want[EVP_MAX_MD_SIZE];
	unsigned wlen = 0;
	struct gate_error e = {0};
	if (!alg || !msg) {
		snprintf(why, n, "token has no message imprint");
		return false;
	}
	if (md_of(alg, "the timestamp imprint", "timestamp", &md, &e) != GATE_OK) {
		snprintf(why, n, "%.150s", e.msg);
		return false;
	}
	if (EVP_Digest(ASN1_STRING_get0_data(sigval), (size_t)ASN1_STRING_length(sigval), want,
		       &wlen, md, NULL) != 1 ||
	    (size_t)ASN1_STRING_length(msg) != wlen ||
	    !gate_ct_eq(ASN1_STRING_get0_data(msg), want, wlen)) {
		ERR_clear_error();
		snprintf(why, n, "imprint is not the hash of the signature");
		return false;
	}
	return true;
}

/* The countersigner's or the TSA's certificate (who, in messages):
 * timeStamping EKU, chain to a TSA root at the stated time. */
static bool countersigner_chain(const struct gate_x509_trust *t, X509 *cert,
				STACK_OF(X509) *helpers, int64_t at, struct gate_cs_time *ts,
				const char *who)
{
	X509_STORE *store = tsa_store(t, at);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;
	if (!store || !ctx || !X509_STORE_CTX_init(ctx, store, cert, helpers)) {
		snprintf(ts->why, sizeof ts->why, "out of memory");
		goto out;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_TIMESTAMP_SIGN);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(ts->why, sizeof ts->why, "%s's chain rejected: %s", who,
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	if (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(cert) & XKU_TIMESTAMP)) {
		snprintf(ts->why, sizeof ts->why, "%s lacks extendedKeyUsage timeStamping", who);
		goto out;
	}
	ok = true;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

/* Whether the first ESSCertID(v2) of a SigningCertificate(V2) attribute
 * value (DER) is the hash of cert. RFC 5035 5.4.1.1: the first identifies
 * the signing certificate; the others may name certificates that are not
 * in the token (Microsoft's name one), so only the first is checked. */
static bool ess_first_is(const ASN1_STRING *attr, bool v2, X509 *cert)
{
	struct gate_rd r = {ASN1_STRING_get0_data(attr), (size_t)ASN1_STRING_length(attr)};
	struct gate_rd sc, ids, id, f, alg, oid, hash;
	uint8_t tag;
	const EVP_MD *md = v2 ? EVP_sha256() : EVP_sha1();
	if (!gate_der_next(&r, &tag, &sc, NULL) || tag != 0x30 || r.n != 0 ||
	    !gate_der_next(&sc, &tag, &ids, NULL) || tag != 0x30 ||
	    !gate_der_next(&ids, &tag, &id, NULL) || tag != 0x30 ||
	    !gate_der_next(&id, &tag, &f, NULL))
		return false;
	if (v2 && tag == 0x30) { /* hashAlgorithm, DEFAULT sha256 */
		alg = f;
		if (!gate_der_next(&alg, &tag, &oid, NULL) || tag != 0x06)
			return false;
		md = gate_der_oid_is(&oid, "2.16.840.1.101.3.4.2.1")	 ? EVP_sha256()
		     : gate_der_oid_is(&oid, "2.16.840.1.101.3.4.2.2") ? EVP_sha384()
		     : gate_der_oid_is(&oid, "2.16.840.1.101.3.4.2.3") ? EVP_sha512()
									 : NULL;
		if (!md || !gate_der_next(&id, &tag, &f, NULL))
			return false;
	}
	hash = f;
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	bool ok = tag == 0x04 && X509_digest(cert, md, d, &dl) == 1 && hash.n == dl &&
		  gate_ct_eq(hash.p, d, dl);
	ERR_clear_error();
	return ok;
}

/* The token's signer must carry a signingCertificate or
 * signingCertificateV2 attribute that names its certificate (RFC 3161
 * 2.4.1, RFC 5816), as TS_RESP_verify_signature requires of the tokens it
 * reads. */
static bool ess_ok(CMS_SignerInfo *si, X509 *cert)
{
	ASN1_STRING *v1 = CMS_signed_get0_data_by_OBJ(
		si, OBJ_nid2obj(NID_id_smime_aa_signingCertificate), -3, V_ASN1_SEQUENCE);
	ASN1_STRING *v2 = CMS_signed_get0_data_by_OBJ(
		si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3, V_ASN1_SEQUENCE);
	ERR_clear_error();
	return (v1 || v2) && (!v1 || ess_first_is(v1, false, cert)) &&
	       (!v2 || ess_first_is(v2, true, cert));
}

/* The token, a CMS SignedData whose content is a TSTInfo, into *cms and
 * *tst. Read as CMS, not PKCS#7: Microsoft's tokens (Authenticode's
 * 1.3.6.1.4.1.311.3.3.1) carry an attribute certificate among their
 * certificates, which OpenSSL's PKCS#7 decoder refuses. */
static bool token_parse(const ASN1_TYPE *v, CMS_ContentInfo **cms, TS_TST_INFO **tst,
			struct gate_cs_time *ts)
{
	if (!v || v->type != V_ASN1_SEQUENCE) {
		snprintf(ts->why, sizeof ts->why, "timestamp attribute is not a ContentInfo");
		return false;
	}
	const unsigned char *p = ASN1_STRING_get0_data(v->value.sequence);
	long len = ASN1_STRING_length(v->value.sequence);
	const unsigned char *end = p + len;
	ASN1_OCTET_STRING **content = NULL;
	if (!(*cms = d2i_CMS_ContentInfo(NULL, &p, len)) || p != end ||
	    OBJ_obj2nid(CMS_get0_type(*cms)) != NID_pkcs7_signed ||
	    OBJ_obj2nid(CMS_get0_eContentType(*cms)) != NID_id_smime_ct_TSTInfo ||
	    !(content = CMS_get0_content(*cms)) || !*content) {
		snprintf(ts->why, sizeof ts->why,
			 "timestamp token is not one SignedData over a TSTInfo");
		return false;
	}
	p = ASN1_STRING_get0_data(*content);
	len = ASN1_STRING_length(*content);
	end = p + len;
	if (!(*tst = d2i_TS_TST_INFO(NULL, &p, len)) || p != end) {
		snprintf(ts->why, sizeof ts->why, "timestamp token's TSTInfo does not parse");
		return false;
	}
	return true;
}

/* The token's one signer over its TSTInfo, by a TSA certificate that
 * chains to a TSA root at genTime (it may have expired since). */
static bool token_signer_ok(const struct gate_x509_trust *t, CMS_ContentInfo *cms, int64_t gen,
			    struct gate_cs_time *ts)
{
	STACK_OF(X509) *certs = CMS_get1_certs(cms), *signers = NULL;
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	bool ok = false;
	if (sk_X509_num(certs) > GATE_CS_MAX_CERTS) {
		snprintf(ts->why, sizeof ts->why, "too many certificates in the timestamp token");
		goto out;
	}
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		snprintf(ts->why, sizeof ts->why, "timestamp token has %d signers, not 1",
			 sk_CMS_SignerInfo_num(sis));
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) !=
		    1 ||
	    !(signers = CMS_get0_signers(cms)) || sk_X509_num(signers) != 1) {
		char r[150];
		gate_ssl_detail(r, sizeof r);
		snprintf(ts->why, sizeof ts->why, "timestamp signature rejected: %s", r);
		goto out;
	}
	if (!countersigner_chain(t, sk_X509_value(signers, 0), certs, gen, ts, "the TSA"))
		goto out;
	if (!ess_ok(sk_CMS_SignerInfo_value(sis, 0), sk_X509_value(signers, 0))) {
		snprintf(ts->why, sizeof ts->why,
			 "timestamp token's signingCertificate does not name its signer");
		goto out;
	}
	ok = true;
out:
	ERR_clear_error();
	sk_X509_free(signers);
	sk_X509_pop_free(certs, X509_free);
	return ok;
}

/* An RFC 3161 TimeStampToken (a ContentInfo) in an attribute value. */
static bool rfc3161(const struct gate_x509_trust *t, const ASN1_TYPE *v,
		    const ASN1_OCTET_STRING *sigval, int64_t now, struct gate_cs_time *ts)
{
	CMS_ContentInfo *cms = NULL;
	TS_TST_INFO *tst = NULL;
	bool ok = false;
	int64_t gen = 0;
	if (!token_parse(v, &cms, &tst, ts))
		goto out;
	if (TS_TST_INFO_get_version(tst) != 1 ||
	    !gate_asn1_time_to_unix(TS_TST_INFO_get_time(tst), &gen)) {
		snprintf(ts->why, sizeof ts->why, "unreadable TSTInfo version or genTime");
		goto out;
	}
	if (!imprint_ok(tst, sigval, ts->why, sizeof ts->why))
		goto out;
	if (gen > now + 300) {
		snprintf(ts->why, sizeof ts->why, "genTime is in the future");
		goto out;
	}
	if (t->ntsas == 0) {
		snprintf(ts->why, sizeof ts->why, "no timestamp authority roots are configured");
		goto out;
	}
	if (!token_signer_ok(t, cms, gen, ts))
		goto out;
	ts->verified = true;
	ts->time = gen;
	ts->source = GATE_TIME_TSA;
	ok = true;
out:
	ERR_clear_error();
	TS_TST_INFO_free(tst);
	CMS_ContentInfo_free(cms);
	return ok;
}

/* A PKCS#9 countersignature: a SignerInfo whose messageDigest is the hash
 * of the outer signature value and whose signingTime is the time. */
static bool countersig(const struct gate_x509_trust *t, PKCS7 *p7, const ASN1_TYPE *v,
		       const ASN1_OCTET_STRING *sigval, int64_t now, struct gate_cs_time *ts)
{
	PKCS7_SIGNER_INFO *cs = NULL;
	bool ok = false;
	const EVP_MD *md = NULL;
	struct gate_error e = {0};
	int64_t at = 0;
	if (!v || v->type != V_ASN1_SEQUENCE) {
		snprintf(ts->why, sizeof ts->why, "countersignature is not a SignerInfo");
		goto out;
	}
	const unsigned char *p = ASN1_STRING_get0_data(v->value.sequence);
	long len = ASN1_STRING_length(v->value.sequence);
	if (!(cs = d2i_PKCS7_SIGNER_INFO(NULL, &p, len))) {
		snprintf(ts->why, sizeof ts->why, "countersignature does not parse");
		goto out;
	}
	if (md_of(cs->digest_alg, "the countersignature", "countersignature", &md, &e) != GATE_OK) {
		snprintf(ts->why, sizeof ts->why, "%.150s", e.msg);
		goto out;
	}
	ASN1_TYPE *st = PKCS7_get_signed_attribute(cs, NID_pkcs9_signingTime);
	if (!st || (st->type != V_ASN1_UTCTIME && st->type != V_ASN1_GENERALIZEDTIME) ||
	    !gate_asn1_time_to_unix(st->value.utctime, &at)) {
		snprintf(ts->why, sizeof ts->why, "countersignature has no signingTime");
		goto out;
	}
	if (at > now + 300) {
		snprintf(ts->why, sizeof ts->why, "countersignature signingTime is in the future");
		goto out;
	}
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	if (EVP_Digest(ASN1_STRING_get0_data(sigval), (size_t)ASN1_STRING_length(sigval), d, &dl,
		       md, NULL) != 1) {
		snprintf(ts->why, sizeof ts->why, "digest failed");
		goto out;
	}
	X509 *cert = find_signer(p7, cs);
	if (!cert) {
		snprintf(ts->why, sizeof ts->why,
			 "countersigner's certificate is not in the signature");
		goto out;
	}
	EVP_PKEY *key = X509_get0_pubkey(cert);
	if (!key || check_sig_alg(cs->digest_enc_alg, key, md, "countersignature", &e) != GATE_OK ||
	    !cs->enc_digest) {
		snprintf(ts->why, sizeof ts->why, "countersignature algorithm unusable");
		goto out;
	}
	ASN1_TYPE *mdv = PKCS7_get_signed_attribute(cs, NID_pkcs9_messageDigest);
	if (!mdv || mdv->type != V_ASN1_OCTET_STRING ||
	    (size_t)ASN1_STRING_length(mdv->value.octet_string) != dl ||
	    !gate_ct_eq(ASN1_STRING_get0_data(mdv->value.octet_string), d, dl)) {
		snprintf(ts->why, sizeof ts->why,
			 "countersignature messageDigest is not the hash of the signature");
		goto out;
	}
	uint8_t ad[EVP_MAX_MD_SIZE];
	unsigned adl = 0;
	if (attrs_digest(cs, md, ad, &adl, "countersignature", &e) != GATE_OK ||
	    verify_digest(key, md, ad, adl, ASN1_STRING_get0_data(cs->enc_digest),
			  (size_t)ASN1_STRING_length(cs->enc_digest)) != GATE_OK) {
		snprintf(ts->why, sizeof ts->why, "countersignature does not verify");
		goto out;
	}
	if (t->ntsas == 0) {
		snprintf(ts->why, sizeof ts->why, "no timestamp authority roots are configured");
		goto out;
	}
	if (!countersigner_chain(t, cert, p7->d.sign->cert, at, ts, "countersigner"))
		goto out;
	ts->verified = true;
	ts->time = at;
	ts->source = GATE_TIME_COUNTERSIG;
	ok = true;
out:
	ERR_clear_error();
	PKCS7_SIGNER_INFO_free(cs);
	return ok;
}

enum gate_err gate_cs_timestamp(const struct gate_x509_trust *t, PKCS7 *p7, PKCS7_SIGNER_INFO *si,
				int64_t now, struct gate_cs_time *ts)
{
	memset(ts, 0, sizeof(*ts));
	/* Undecodable TSA roots verify nothing; the chain check reports them. */
	if (gate_x509_trust_ready(t, NULL) != GATE_OK)
		return GATE_OK;
	ASN1_OBJECT *ms = OBJ_txt2obj(OID_MS_RFC3161, 1);
	if (!ms)
		return GATE_E_NOMEM;
	int n = sk_X509_ATTRIBUTE_num(si->unauth_attr);
	/* The first timestamp that verifies is the signing time; a signature
	 * carries one in practice. */
	for (int i = 0; i < n && i < 64 && !ts->verified; i++) {
		X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(si->unauth_attr, i);
		ASN1_OBJECT *obj = X509_ATTRIBUTE_get0_object(a);
		int nid = OBJ_obj2nid(obj);
		bool tok = nid == NID_id_smime_aa_timeStampToken || OBJ_cmp(obj, ms) == 0;
		if (!tok && nid != NID_pkcs9_countersignature)
			continue;
		ts->present = true;
		if (X509_ATTRIBUTE_count(a) != 1) {
			snprintf(ts->why, sizeof ts->why, "timestamp attribute holds %d values",
				 X509_ATTRIBUTE_count(a));
			continue;
		}
		ASN1_TYPE *v = X509_ATTRIBUTE_get0_type(a, 0);
		if (tok)
			rfc3161(t, v, si->enc_digest, now, ts);
		else
			countersig(t, p7, v, si->enc_digest, now, ts);
	}
	ASN1_OBJECT_free(ms);
	ERR_clear_error();
	return GATE_OK;
}
