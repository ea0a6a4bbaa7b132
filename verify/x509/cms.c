/* cms.c - detached CMS/PKCS#7 signatures (X.p7s) over an artifact, as
 * `openssl cms -sign -binary` (or `openssl smime -sign`) makes them: DER
 * or PEM, with or without signed attributes (RFC 5652). */
#include "codesign.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMS_FIELD "p7s"
#define CMS_CHUNK (256u * 1024)

static enum gate_err digest_fd(int fd, const EVP_MD *md, uint8_t *out, unsigned *outlen,
			       struct gate_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(CMS_CHUNK);
	enum gate_err rc = GATE_OK;
	uint64_t off = 0;
	if (!ctx || !buf || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, "artifact", "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = pread(fd, buf, CMS_CHUNK, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = gate_fail(err, GATE_E_IO, "C1", "artifact", "read: %s",
				       strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)r);
		off += (uint64_t)r;
	}
	if (EVP_DigestFinal_ex(ctx, out, outlen) != 1)
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, "artifact", "digest failed");
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static enum gate_err load(const struct gate_cs_input *in, PKCS7 **p7, struct gate_error *err)
{
	if (!in->sig)
		return gate_fail(err, GATE_E_USAGE, NULL, CMS_FIELD, "no detached signature given");
	enum gate_err rc = gate_cs_parse_p7(in->sig, in->siglen, true, CMS_FIELD, p7, err);
	if (rc != GATE_OK)
		return rc;
	PKCS7 *inner = (*p7)->d.sign->contents;
	if (OBJ_obj2nid(inner->type) != NID_pkcs7_data)
		rc = gate_fail(err, GATE_E_UNSUPPORTED, "C2", CMS_FIELD,
			       "the signed content is not of type data");
	else if (inner->d.data != NULL)
		rc = gate_fail(err, GATE_E_UNSUPPORTED, "C2", CMS_FIELD,
			       "not a detached signature: it embeds its content");
	if (rc != GATE_OK) {
		PKCS7_free(*p7);
		*p7 = NULL;
	}
	return rc;
}

enum gate_err gate_cms_count(const struct gate_cs_input *in, size_t *n, struct gate_error *err)
{
	PKCS7 *p7 = NULL;
	enum gate_err rc = load(in, &p7, err);
	if (rc == GATE_OK)
		*n = (size_t)sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info);
	PKCS7_free(p7);
	return rc;
}

enum gate_err gate_cms_verify(const struct gate_cs_input *in, const struct gate_cs_opts *o,
			      struct gate_facts **out, struct gate_error *err)
{
	PKCS7 *p7 = NULL;
	const EVP_MD *md = NULL;
	X509 *signer = NULL;
	struct gate_cs_time ts;
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	char field[32];
	enum gate_err rc = load(in, &p7, err);
	if (rc != GATE_OK)
		return rc;
	snprintf(field, sizeof field, "p7s.signerInfos[%zu]", in->index);
	if (in->index >= (size_t)sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info)) {
		rc = gate_fail(err, GATE_E_USAGE, NULL, field, "no such signer");
		goto out;
	}
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, (int)in->index);
	if ((rc = gate_cs_signer_md(si, field, &md, err)) != GATE_OK)
		goto out;
	if (in->sha256 && EVP_MD_get_type(md) == NID_sha256) {
		memcpy(d, in->sha256, 32);
		dl = 32;
	} else if ((rc = digest_fd(in->fd, md, d, &dl, err)) != GATE_OK) {
		goto out;
	}
	if ((rc = gate_cs_signer_check(p7, si, OBJ_nid2obj(NID_pkcs7_data), d, dl, true, field,
				       &signer, err)) != GATE_OK)
		goto out;
	if ((rc = gate_cs_timestamp(o->trust, p7, si, o->now, &ts)) != GATE_OK) {
		rc = gate_fail(err, rc, NULL, field, "out of memory");
		goto out;
	}
	if ((rc = gate_cs_finish(o->trust, p7, signer, &ts, o->now, "cms", field, out, err)) !=
	    GATE_OK)
		goto out;
	(*out)->n_signatures = (size_t)sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info);
	if (gate_facts_add_ext(*out, "signed_attributes",
			       sk_X509_ATTRIBUTE_num(si->auth_attr) > 0 ? "yes" : "no") !=
	    GATE_OK) {
		gate_facts_free(*out);
		*out = NULL;
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	}
out:
	ERR_clear_error();
	PKCS7_free(p7);
	return rc;
}
