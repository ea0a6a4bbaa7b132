/* tsa.c - RFC 3161 timestamps against the trusted root's TSAs (S12). */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/ts.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A TimeStampResp holds a status, a CMS SignedData and at most a few
 * certificates: anything bigger is not a token we would issue or accept. */
#define TSA_MAX_RESP (64u * 1024)

#define TSA_FIELD "timestampVerificationData.rfc3161Timestamps"

/* Parse the response: DER with no trailing bytes, status granted or
 * grantedWithMods, a token and its TSTInfo. */
static enum gate_err parse_resp(const uint8_t *der, size_t len, TS_RESP **out,
				struct gate_error *err)
{
	const unsigned char *p = der;
	TS_RESP *resp = NULL;
	enum gate_err rc = GATE_E_TIMESTAMP;
	if (len > TSA_MAX_RESP) {
		rc = gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
			       "timestamp response is %zu bytes, over the %u-byte limit", len,
			       TSA_MAX_RESP);
		goto out;
	}
	resp = d2i_TS_RESP(NULL, &p, (long)len);
	if (!resp) {
		gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD, "not a DER TimeStampResp");
		gate_fail_ssl(err);
		goto out;
	}
	if (p != der + len) {
		gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
			  "%zu trailing bytes after the TimeStampResp", (size_t)(der + len - p));
		goto out;
	}
	/* OpenSSL also decodes BER (indefinite or non-minimal lengths): the
	 * input must be the one DER encoding of what was parsed. */
	unsigned char *re = NULL;
	int relen = i2d_TS_RESP(resp, &re);
	bool same = relen > 0 && (size_t)relen == len && memcmp(re, der, len) == 0;
	OPENSSL_free(re);
	if (!same) {
		gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
			  "TimeStampResp is not DER encoded");
		goto out;
	}
	TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
	const ASN1_INTEGER *st = si ? TS_STATUS_INFO_get0_status(si) : NULL;
	long status = st ? ASN1_INTEGER_get(st) : -1;
	if (status != TS_STATUS_GRANTED && status != TS_STATUS_GRANTED_WITH_MODS) {
		gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
			  "timestamp status is %ld, not granted", status);
		goto out;
	}
	if (!TS_RESP_get_token(resp) || !TS_RESP_get_tst_info(resp)) {
		gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
			  "granted response without a timestamp token");
		goto out;
	}
	*out = resp;
	resp = NULL;
	rc = GATE_OK;
out:
	ERR_clear_error();
	TS_RESP_free(resp);
	return rc;
}

/* The message imprint must be the hash of the raw signature bytes under
 * the imprint's own algorithm (SHA-256, -384 or -512, absent or NULL
 * parameters). */
static enum gate_err check_imprint(TS_TST_INFO *tst, const uint8_t *sig, size_t siglen,
				   struct gate_error *err)
{
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
	X509_ALGOR *alg = mi ? TS_MSG_IMPRINT_get_algo(mi) : NULL;
	ASN1_OCTET_STRING *msg = mi ? TS_MSG_IMPRINT_get_msg(mi) : NULL;
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	int ptype = V_ASN1_UNDEF;
	const EVP_MD *md = NULL;
	uint8_t want[EVP_MAX_MD_SIZE];
	unsigned int wlen = 0;
	if (!alg || !msg)
		return gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
				 "token has no message imprint");
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_sha256:
		md = EVP_sha256();
		break;
	case NID_sha384:
		md = EVP_sha384();
		break;
	case NID_sha512:
		md = EVP_sha512();
		break;
	default:
		return gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
				 "unsupported message imprint algorithm");
	}
	if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		return gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
				 "message imprint algorithm has parameters");
	if (!EVP_Digest(sig, siglen, want, &wlen, md, NULL)) {
		ERR_clear_error();
		return gate_fail(err, GATE_E_INTERNAL, "S12", TSA_FIELD, "digest failed");
	}
	if ((size_t)ASN1_STRING_length(msg) != wlen ||
	    !gate_ct_eq(ASN1_STRING_get0_data(msg), want, wlen))
		return gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
				 "imprint is not the hash of the signature");
	return GATE_OK;
}

/* genTime inside the authority's validFor (closed) and inside every
 * certificate of its chain. */
static enum gate_err check_window(const struct gate_authority *a, int64_t gen, size_t idx,
				  struct gate_error *err)
{
	char ts[32];
	gate_format_time(gen, ts);
	if (!gate_validity_contains(&a->valid, gen))
		return gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
				 "genTime %s outside the validity of timestampAuthorities[%zu]", ts,
				 idx);
	STACK_OF(X509) *chain = gate_authority_chain(a);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		int64_t nb, na;
		if (!gate_asn1_time_to_unix(X509_get0_notBefore(x), &nb) ||
		    !gate_asn1_time_to_unix(X509_get0_notAfter(x), &na) || gen < nb || gen > na)
			return gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
					 "genTime %s outside the validity of certificate %d "
					 "of timestampAuthorities[%zu]",
					 ts, i, idx);
	}
	return GATE_OK;
}

/* Verify the token's CMS signature with a's chain: the last certificate is
 * the trust anchor (partial chains allowed, so it may be an intermediate),
 * the others are untrusted helpers and the source of the signer when the
 * token embeds none. Path validation happens at genTime: OpenSSL's TS code
 * would use the current time otherwise. OpenSSL also checks the signer's
 * critical timeStamping EKU and the ESS signing-certificate binding;
 * X509_STRICT adds the RFC 5280 profile checks, as for Fulcio chains. */
static enum gate_err verify_with(PKCS7 *token, const struct gate_authority *a, int64_t gen,
				 size_t idx, bool *sig_ok, struct gate_error *err)
{
	X509_STORE *store = NULL;
	STACK_OF(X509) *certs = NULL;
	X509 *signer = NULL;
	enum gate_err rc = GATE_E_TIMESTAMP;
	STACK_OF(X509) *chain = gate_authority_chain(a);
	int n = chain ? sk_X509_num(chain) : 0;
	if (n <= 0) {
		rc = gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
			       "timestampAuthorities[%zu] has no certificates", idx);
		goto out;
	}
	store = X509_STORE_new();
	certs = sk_X509_new_null();
	if (!store || !certs || !X509_STORE_add_cert(store, sk_X509_value(chain, n - 1))) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, TSA_FIELD, "out of memory");
		goto out;
	}
	for (int i = 0; i < (n > 1 ? n - 1 : 1); i++) {
		X509 *x = sk_X509_value(chain, i);
		if (!X509_up_ref(x))
			goto nomem;
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			goto nomem;
		}
	}
	X509_VERIFY_PARAM *param = X509_STORE_get0_param(store);
	X509_VERIFY_PARAM_set_time(param, (time_t)gen);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	X509_STORE_set_verify_cb(store, gate_x509_verify_cb);
	if (TS_RESP_verify_signature(token, certs, store, &signer) != 1) {
		char why[160];
		gate_ssl_detail(why, sizeof why);
		gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
			  "no timestamp authority in the trusted root verified the token "
			  "(timestampAuthorities[%zu]: %s)",
			  idx, why);
		goto out;
	}
	*sig_ok = true;
	rc = check_window(a, gen, idx, err);
	goto out;
nomem:
	rc = gate_fail(err, GATE_E_NOMEM, NULL, TSA_FIELD, "out of memory");
out:
	ERR_clear_error();
	X509_free(signer);
	sk_X509_pop_free(certs, X509_free);
	X509_STORE_free(store);
	return rc;
}

enum gate_err gate_rfc3161_verify(const uint8_t *der, size_t len, const uint8_t *sig, size_t siglen,
				  const struct gate_trusted_root *root, int64_t *gen_time,
				  size_t *tsa_index, struct gate_error *err)
{
	TS_RESP *resp = NULL;
	enum gate_err rc;
	int64_t gen;
	if (!der || !sig || !root || !gen_time || !tsa_index)
		return gate_fail(err, GATE_E_USAGE, "S12", TSA_FIELD, "missing argument");
	if ((rc = parse_resp(der, len, &resp, err)) != GATE_OK)
		goto out;
	TS_TST_INFO *tst = TS_RESP_get_tst_info(resp);
	if (TS_TST_INFO_get_version(tst) != 1) {
		rc = gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
			       "TSTInfo version %ld is not 1", TS_TST_INFO_get_version(tst));
		goto out;
	}
	if (!gate_asn1_time_to_unix(TS_TST_INFO_get_time(tst), &gen)) {
		rc = gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD, "unreadable genTime");
		goto out;
	}
	if ((rc = check_imprint(tst, sig, siglen, err)) != GATE_OK)
		goto out;
	rc = gate_fail(err, GATE_E_TIMESTAMP, "S12", TSA_FIELD,
		       "no timestamp authority in the trusted root");
	/* First authority that verifies wins. A token that one authority's
	 * chain verified but whose genTime falls outside that authority's
	 * window is the more useful reason to report than a later mismatch. */
	struct gate_error last = {0}, window = {0};
	bool have_window = false;
	for (size_t i = 0; i < root->ntsas; i++) {
		bool sig_ok = false;
		memset(&last, 0, sizeof last);
		rc = verify_with(TS_RESP_get_token(resp), &root->tsas[i], gen, i, &sig_ok, &last);
		if (rc == GATE_OK) {
			*gen_time = gen;
			*tsa_index = i;
			goto out;
		}
		if (rc == GATE_E_NOMEM)
			break;
		if (sig_ok && !have_window) {
			window = last;
			have_window = true;
		}
	}
	if (rc != GATE_E_NOMEM && have_window)
		last = window;
	if (err && root->ntsas > 0)
		*err = last;
out:
	ERR_clear_error();
	TS_RESP_free(resp);
	return rc;
}
