/* pe.c - Authenticode in PE32/PE32+ files (Microsoft "Windows Authenticode
 * Portable Executable Signature Format"): the headers checked against the
 * file size, the certificate table, the SpcIndirectDataContent and the
 * image digest (everything before the certificate table except the
 * CheckSum and the certificate table's directory entry), nested
 * signatures. Page hashes are detected and reported, not verified. */
#include "codesign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PE_FIELD "authenticode"

#define OID_SPC_INDIRECT_DATA "1.3.6.1.4.1.311.2.1.4"
#define OID_SPC_PE_IMAGE_DATA "1.3.6.1.4.1.311.2.1.15"
/* SPC_INDIVIDUAL_SP_KEY_PURPOSE: what sbsign (sbsigntools) writes as the
 * data type of the SpcPeImageData it signs (Debian's signed EFI binaries,
 * fwupdx64.efi.signed). Windows and osslsigncode read the value as a
 * SpcPeImageData whatever the type says; here it must still be one. */
#define OID_SPC_PE_IMAGE_DATA_SBSIGN "1.3.6.1.4.1.311.2.1.21"
#define OID_SPC_NESTED_SIG "1.3.6.1.4.1.311.2.4.1"
/* SPC_PE_IMAGE_PAGE_HASHES_V1 / V2: 1.3.6.1.4.1.311.2.3.1 / .2 as DER */
static const uint8_t page_hash_oid[] = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
					0x01, 0x82, 0x37, 0x02, 0x03};

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* C10: the PE structure; C11: the Authenticode content (docs/CODESIGN.md). */
#define PE_FAIL(err, field, ...) gate_fail(err, GATE_E_PARSE, "C10", field, __VA_ARGS__)
#define SPC_FAIL(err, field, ...) gate_fail(err, GATE_E_PARSE, "C11", field, __VA_ARGS__)

struct range {
	uint64_t start, end;
	unsigned idx;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Section raw data inside the file and not overlapping; the certificate
 * table after all of it. */
static enum gate_err check_sections(int fd, struct gate_pe *pe, uint64_t sec_off,
				    struct gate_error *err)
{
	uint8_t tbl[GATE_PE_MAX_SECTIONS * 40];
	struct range r[GATE_PE_MAX_SECTIONS];
	size_t nr = 0;
	if (!gate_pread_full(fd, tbl, (size_t)pe->nsections * 40, sec_off))
		return gate_fail(err, GATE_E_IO, "C1", "pe.sections",
				 "cannot read the section table");
	for (unsigned i = 0; i < pe->nsections; i++) {
		const uint8_t *s = tbl + (size_t)i * 40;
		uint64_t size = le32(s + 16), ptr = le32(s + 20);
		if (size == 0)
			continue;
		if (ptr + size > pe->size)
			return PE_FAIL(err, "pe.sections",
				       "section %u raw data (%llu bytes at %llu) runs past the end "
				       "of the %llu-byte file",
				       i, (unsigned long long)size, (unsigned long long)ptr,
				       (unsigned long long)pe->size);
		r[nr++] = (struct range){ptr, ptr + size, i};
	}
	qsort(r, nr, sizeof(r[0]), cmp_range);
	for (size_t i = 1; i < nr; i++)
		if (r[i].start < r[i - 1].end)
			return PE_FAIL(err, "pe.sections", "sections %u and %u overlap in the file",
				       r[i - 1].idx, r[i].idx);
	if (pe->cert_len && nr && pe->cert_off < r[nr - 1].end)
		return PE_FAIL(err, "pe.certificate_table",
			       "certificate table at %llu overlaps section %u",
			       (unsigned long long)pe->cert_off, r[nr - 1].idx);
	return GATE_OK;
}

enum gate_err gate_pe_parse(int fd, struct gate_pe *pe, struct gate_error *err)
{
	uint8_t dos[64], coff[24], opt[240];
	memset(pe, 0, sizeof(*pe));
	if (!gate_fd_size(fd, &pe->size))
		return gate_fail(err, GATE_E_IO, "C1", "pe", "not a readable regular file");
	if (pe->size < sizeof dos || !gate_pread_full(fd, dos, sizeof dos, 0) || dos[0] != 'M' ||
	    dos[1] != 'Z')
		return PE_FAIL(err, "pe.dos_header", "not a PE file: no MZ header");
	uint64_t pe_off = le32(dos + 0x3c);
	if (pe_off + sizeof coff > pe->size)
		return PE_FAIL(err, "pe.e_lfanew", "PE header offset %llu is outside the file",
			       (unsigned long long)pe_off);
	if (!gate_pread_full(fd, coff, sizeof coff, pe_off) || memcmp(coff, "PE\0\0", 4) != 0)
		return PE_FAIL(err, "pe.signature", "no PE signature at offset %llu",
			       (unsigned long long)pe_off);
	pe->nsections = le16(coff + 6);
	uint64_t opt_size = le16(coff + 20), opt_off = pe_off + sizeof coff;
	if (pe->nsections > GATE_PE_MAX_SECTIONS)
		return PE_FAIL(err, "pe.NumberOfSections", "%u sections, more than %d",
			       pe->nsections, GATE_PE_MAX_SECTIONS);
	if (opt_size < 2 || opt_off + opt_size > pe->size)
		return PE_FAIL(err, "pe.SizeOfOptionalHeader",
			       "optional header (%llu bytes) does not fit in the file",
			       (unsigned long long)opt_size);
	size_t have = opt_size < sizeof opt ? (size_t)opt_size : sizeof opt;
	memset(opt, 0, sizeof opt);
	if (!gate_pread_full(fd, opt, have, opt_off))
		return gate_fail(err, GATE_E_IO, "C1", "pe", "cannot read the optional header");
	uint32_t magic = le16(opt);
	if (magic != 0x10b && magic != 0x20b)
		return PE_FAIL(err, "pe.Magic",
			       "optional header magic 0x%x is neither PE32 nor PE32+", magic);
	pe->pe32plus = magic == 0x20b;
	uint64_t nrva_off = pe->pe32plus ? 108 : 92, dd_off = nrva_off + 4;
	if (opt_size < dd_off)
		return PE_FAIL(err, "pe.SizeOfOptionalHeader",
			       "optional header too short (%llu bytes)",
			       (unsigned long long)opt_size);
	uint64_t nrva = le32(opt + nrva_off);
	/* The security directory is entry 4. */
	if (nrva < 5 || opt_size < dd_off + 5 * 8)
		return PE_FAIL(err, "pe.NumberOfRvaAndSizes",
			       "no certificate table directory entry (%llu entries)",
			       (unsigned long long)nrva);
	if (nrva > 16 || dd_off + nrva * 8 > opt_size)
		return PE_FAIL(err, "pe.NumberOfRvaAndSizes",
			       "%llu data directories do not fit the optional header",
			       (unsigned long long)nrva);
	pe->checksum_off = opt_off + 64;
	pe->certdir_off = opt_off + dd_off + 4 * 8;
	pe->cert_off = le32(opt + dd_off + 32);
	pe->cert_len = le32(opt + dd_off + 36);
	uint64_t sec_off = opt_off + opt_size;
	pe->headers_end = sec_off + (uint64_t)pe->nsections * 40;
	if (pe->headers_end > pe->size)
		return PE_FAIL(err, "pe.sections", "section table runs past the end of the file");
	uint64_t size_of_headers = le32(opt + 60);
	if (size_of_headers > pe->size)
		return PE_FAIL(err, "pe.SizeOfHeaders",
			       "SizeOfHeaders %llu is past the end of the file",
			       (unsigned long long)size_of_headers);
	if (pe->cert_off == 0 && pe->cert_len == 0)
		return check_sections(fd, pe, sec_off, err);
	if (pe->cert_off < pe->headers_end || pe->cert_len < 8)
		return PE_FAIL(err, "pe.certificate_table",
			       "certificate table (%llu bytes at %llu) overlaps the headers or is "
			       "too short",
			       (unsigned long long)pe->cert_len, (unsigned long long)pe->cert_off);
	if (pe->cert_off + pe->cert_len > pe->size)
		return PE_FAIL(err, "pe.certificate_table",
			       "certificate table (%llu bytes at %llu) points outside the "
			       "%llu-byte file",
			       (unsigned long long)pe->cert_len, (unsigned long long)pe->cert_off,
			       (unsigned long long)pe->size);
	if (pe->cert_len > GATE_PE_MAX_CERT_TABLE)
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", "pe.certificate_table",
				 "certificate table is %llu bytes, over the %u-byte limit",
				 (unsigned long long)pe->cert_len, GATE_PE_MAX_CERT_TABLE);
	return check_sections(fd, pe, sec_off, err);
}

bool gate_pe_sniff(int fd)
{
	uint8_t dos[64], sig[4];
	return gate_pread_full(fd, dos, sizeof dos, 0) && dos[0] == 'M' && dos[1] == 'Z' &&
	       gate_pread_full(fd, sig, 4, le32(dos + 0x3c)) && memcmp(sig, "PE\0\0", 4) == 0;
}

/* Hash [from, to) of fd into ctx. */
static enum gate_err hash_range(int fd, EVP_MD_CTX *ctx, uint64_t from, uint64_t to,
				struct gate_error *err)
{
	uint64_t done = 0;
	int e = 0;
	switch (gate_hash_fd(fd, ctx, from, to, &done, &e)) {
	case GATE_HASH_OK:
		if (to > from && done < to - from)
			return gate_fail(err, GATE_E_IO, "C1", "pe", "read at %llu: short file",
					 (unsigned long long)(from + done));
		return GATE_OK;
	case GATE_HASH_READ:
		return gate_fail(err, GATE_E_IO, "C1", "pe", "read at %llu: %s",
				 (unsigned long long)(from + done), strerror(e));
	case GATE_HASH_NOMEM:
		return gate_fail(err, GATE_E_NOMEM, NULL, "pe", "out of memory");
	default:
		return gate_fail(err, GATE_E_INTERNAL, NULL, "pe", "digest failed");
	}
}

enum gate_err gate_pe_digest(int fd, const struct gate_pe *pe, const EVP_MD *md, uint8_t *out,
			     unsigned *outlen, struct gate_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	enum gate_err rc = GATE_OK;
	uint64_t end = pe->cert_len ? pe->cert_off : pe->size;
	if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, "pe", "out of memory");
		goto out;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((rc = hash_range(fd, ctx, 0, pe->checksum_off, err)) != GATE_OK ||
	    (rc = hash_range(fd, ctx, pe->checksum_off + 4, pe->certdir_off, err)) != GATE_OK ||
	    (rc = hash_range(fd, ctx, pe->certdir_off + 8, end, err)) != GATE_OK)
		goto out;
	if (EVP_DigestFinal_ex(ctx, out, outlen) != 1)
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, "pe", "digest failed");
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* The rest of a SpcAttributeTypeAndOptionalValue after its type: one
 * SpcPeImageData, SEQUENCE { flags BIT STRING DEFAULT, file [0] SpcLink }. */
static bool is_pe_image_data(const struct gate_rd *rest)
{
	struct gate_rd r = *rest, val, first;
	uint8_t tag;
	return gate_der_next(&r, &tag, &val, NULL) && tag == 0x30 && r.n == 0 &&
	       gate_der_next(&val, &tag, &first, NULL) && (tag == 0x03 || tag == 0xa0);
}

struct spc {
	const uint8_t *content; /* the SEQUENCE's content octets (what messageDigest hashes) */
	size_t content_len;
	const EVP_MD *md; /* image digest algorithm */
	const uint8_t *digest;
	size_t digest_len;
	bool page_hashes;
};

static enum gate_err parse_spc(const ASN1_TYPE *t, struct spc *s, const char *field,
			       struct gate_error *err)
{
	struct gate_rd all, seq, data, type, di, alg, algoid, dig;
	uint8_t tag;
	if (!t || t->type != V_ASN1_SEQUENCE)
		return SPC_FAIL(err, field, "SpcIndirectDataContent is not a SEQUENCE");
	all.p = ASN1_STRING_get0_data(t->value.sequence);
	all.n = (size_t)ASN1_STRING_length(t->value.sequence);
	if (!gate_der_next(&all, &tag, &seq, NULL) || tag != 0x30 || all.n != 0)
		return SPC_FAIL(err, field, "SpcIndirectDataContent is not one DER SEQUENCE");
	s->content = seq.p;
	s->content_len = seq.n;
	if (!gate_der_next(&seq, &tag, &data, NULL) || tag != 0x30 ||
	    !gate_der_next(&data, &tag, &type, NULL) || tag != 0x06)
		return SPC_FAIL(err, field, "malformed SpcAttributeTypeAndOptionalValue");
	if (!gate_der_oid_is(&type, OID_SPC_PE_IMAGE_DATA) && !gate_der_oid_is(&type, OID_SPC_PE_IMAGE_DATA_SBSIGN))
		return gate_fail(err, GATE_E_UNSUPPORTED, "C11", field,
				 "signed data is not a PE image (SpcPeImageData)");
	if (!is_pe_image_data(&data))
		return SPC_FAIL(err, field, "SpcPeImageData is not a SEQUENCE of flags and file");
	s->page_hashes = memmem(data.p, data.n, page_hash_oid, sizeof page_hash_oid) != NULL;
	if (!gate_der_next(&seq, &tag, &di, NULL) || tag != 0x30 || seq.n != 0 ||
	    !gate_der_next(&di, &tag, &alg, NULL) || tag != 0x30 ||
	    !gate_der_next(&alg, &tag, &algoid, NULL) || tag != 0x06 ||
	    !gate_der_next(&di, &tag, &dig, NULL) || tag != 0x04 || di.n != 0)
		return SPC_FAIL(err, field, "malformed messageDigest DigestInfo");
	if (alg.n != 0 && !(alg.n == 2 && alg.p[0] == 0x05 && alg.p[1] == 0x00))
		return SPC_FAIL(err, field, "digest algorithm has parameters");
	if (gate_der_oid_is(&algoid, "2.16.840.1.101.3.4.2.1"))
		s->md = EVP_sha256();
	else if (gate_der_oid_is(&algoid, "2.16.840.1.101.3.4.2.2"))
		s->md = EVP_sha384();
	else if (gate_der_oid_is(&algoid, "2.16.840.1.101.3.4.2.3"))
		s->md = EVP_sha512();
	else if (gate_der_oid_is(&algoid, "1.3.14.3.2.26") || gate_der_oid_is(&algoid, "1.2.840.113549.2.5"))
		return gate_fail(err, GATE_E_UNSUPPORTED, "C11", field,
				 "image digest is SHA-1 or MD5, which is not accepted");
	else
		return gate_fail(err, GATE_E_UNSUPPORTED, "C11", field,
				 "unsupported image digest algorithm");
	if (dig.n != (size_t)EVP_MD_get_size(s->md))
		return SPC_FAIL(err, field, "image digest has the wrong length");
	s->digest = dig.p;
	s->digest_len = dig.n;
	return GATE_OK;
}

/* ---- the certificate table and nested signatures ---- */

struct sigs {
	PKCS7 *p7[GATE_CS_MAX_SIGS];
	size_t n;
};

static void sigs_clear(struct sigs *s)
{
	for (size_t i = 0; i < s->n; i++)
		PKCS7_free(s->p7[i]);
	s->n = 0;
}

/* p7 (taken over), then the signatures nested in its signer's unsigned
 * attributes, depth first. */
static enum gate_err add_sig(struct sigs *s, PKCS7 *p7, unsigned depth, const char *field,
			     struct gate_error *err)
{
	if (s->n >= GATE_CS_MAX_SIGS) {
		PKCS7_free(p7);
		return gate_fail(err, GATE_E_TOO_LARGE, "C1", field, "more than %d signatures",
				 GATE_CS_MAX_SIGS);
	}
	s->p7[s->n++] = p7;
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	ASN1_OBJECT *nested = OBJ_txt2obj(OID_SPC_NESTED_SIG, 1);
	enum gate_err rc = nested ? GATE_OK : GATE_E_NOMEM;
	for (int i = 0; rc == GATE_OK && si && i < sk_X509_ATTRIBUTE_num(si->unauth_attr); i++) {
		X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(si->unauth_attr, i);
		if (OBJ_cmp(X509_ATTRIBUTE_get0_object(a), nested) != 0)
			continue;
		if (depth + 1 >= GATE_CS_MAX_NEST) {
			rc = gate_fail(err, GATE_E_TOO_LARGE, "C1", field,
				       "signatures nested more than %d deep", GATE_CS_MAX_NEST);
			break;
		}
		for (int k = 0; rc == GATE_OK && k < X509_ATTRIBUTE_count(a); k++) {
			ASN1_TYPE *v = X509_ATTRIBUTE_get0_type(a, k);
			PKCS7 *inner = NULL;
			if (!v || v->type != V_ASN1_SEQUENCE) {
				rc = PE_FAIL(err, field, "nested signature is not a ContentInfo");
				break;
			}
			rc = gate_cs_parse_p7(ASN1_STRING_get0_data(v->value.sequence),
					      (size_t)ASN1_STRING_length(v->value.sequence), false,
					      field, &inner, err);
			if (rc == GATE_OK)
				rc = add_sig(s, inner, depth + 1, field, err);
		}
	}
	ASN1_OBJECT_free(nested);
	return rc;
}

/* The DER length of the ContentInfo at the start of b (the rest of a
 * WIN_CERTIFICATE is alignment padding, which must be zero). */
static enum gate_err one_entry(const uint8_t *b, size_t n, struct sigs *s, struct gate_error *err)
{
	struct gate_rd r = {b, n}, v;
	uint8_t tag;
	size_t hdr = 0;
	if (!gate_der_next(&r, &tag, &v, &hdr) || tag != 0x30)
		return PE_FAIL(err, "pe.certificate_table", "WIN_CERTIFICATE does not hold DER");
	if (r.n >= 8)
		return PE_FAIL(err, "pe.certificate_table",
			       "%zu bytes after the signature in its WIN_CERTIFICATE", r.n);
	for (size_t i = 0; i < r.n; i++)
		if (r.p[i] != 0)
			return PE_FAIL(err, "pe.certificate_table",
				       "non-zero padding after the signature");
	PKCS7 *p7 = NULL;
	enum gate_err rc = gate_cs_parse_p7(b, hdr + v.n, false, "pe.certificate_table", &p7, err);
	if (rc != GATE_OK)
		return rc;
	if (sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info) != 1) {
		PKCS7_free(p7);
		return PE_FAIL(err, "pe.certificate_table",
			       "an Authenticode signature has exactly one signer");
	}
	return add_sig(s, p7, 0, "pe.certificate_table", err);
}

static enum gate_err load_sigs(int fd, struct gate_pe *pe, struct sigs *s, struct gate_error *err)
{
	enum gate_err rc = gate_pe_parse(fd, pe, err);
	if (rc != GATE_OK || pe->cert_len == 0)
		return rc;
	uint8_t *tbl = malloc((size_t)pe->cert_len);
	if (!tbl)
		return gate_fail(err, GATE_E_NOMEM, NULL, "pe", "out of memory");
	if (!gate_pread_full(fd, tbl, (size_t)pe->cert_len, pe->cert_off)) {
		free(tbl);
		return gate_fail(err, GATE_E_IO, "C1", "pe", "cannot read the certificate table");
	}
	size_t off = 0, entries = 0;
	while (rc == GATE_OK && off + 8 <= pe->cert_len) {
		uint32_t len = le32(tbl + off), rev = le16(tbl + off + 4),
			 type = le16(tbl + off + 6);
		if (len < 8 || len > pe->cert_len - off) {
			rc = PE_FAIL(err, "pe.certificate_table",
				     "WIN_CERTIFICATE length %u runs outside the table", len);
			break;
		}
		if (++entries > GATE_PE_MAX_CERT_ENTRIES) {
			rc = gate_fail(err, GATE_E_TOO_LARGE, "C1", "pe.certificate_table",
				       "more than %d WIN_CERTIFICATE entries",
				       GATE_PE_MAX_CERT_ENTRIES);
			break;
		}
		if (type != 2 || (rev != 0x0200 && rev != 0x0100)) {
			rc = gate_fail(
				err, GATE_E_UNSUPPORTED, "C10", "pe.certificate_table",
				"WIN_CERTIFICATE revision 0x%x type %u is not PKCS#7 signed data",
				rev, type);
			break;
		}
		rc = one_entry(tbl + off + 8, len - 8, s, err);
		off += ((size_t)len + 7) & ~(size_t)7;
	}
	/* What is left must be alignment padding. */
	for (size_t i = off; rc == GATE_OK && i < pe->cert_len; i++)
		if (tbl[i] != 0)
			rc = PE_FAIL(err, "pe.certificate_table",
				     "trailing bytes in the certificate table");
	if (rc == GATE_OK && s->n == 0)
		rc = PE_FAIL(err, "pe.certificate_table", "certificate table holds no signature");
	free(tbl);
	return rc;
}

/* A signature covers the file up to the certificate table: bytes after it
 * would ride along unsigned. */
static enum gate_err check_tail(const struct gate_pe *pe, struct gate_error *err)
{
	if (pe->cert_len && pe->cert_off + pe->cert_len != pe->size)
		return gate_fail(err, GATE_E_DIGEST, "C10", "pe.certificate_table",
				 "%llu bytes follow the certificate table: data appended after the "
				 "signature is not covered by it",
				 (unsigned long long)(pe->size - pe->cert_off - pe->cert_len));
	return GATE_OK;
}

enum gate_err gate_pe_count(const struct gate_cs_input *in, size_t *n, struct gate_error *err)
{
	struct gate_pe pe;
	struct sigs s = {0};
	enum gate_err rc = load_sigs(in->fd, &pe, &s, err);
	/* A malformed table is one (failing) piece of evidence, not none. */
	*n = rc == GATE_OK ? s.n : 0;
	sigs_clear(&s);
	return rc;
}

/* The image digest runs on a second thread while the signature, the
 * timestamp and the chain are checked: for a large file the hash is the
 * whole cost, and the rest hides behind it. It is started before the
 * SpcIndirectDataContent is parsed, with SHA-256 (what signers use);
 * another algorithm is hashed again on the calling thread. */
struct hash_job {
	pthread_t tid;
	bool started, joined;
	int fd;
	struct gate_pe pe;
	enum gate_err rc;
	struct gate_error err;
	uint8_t out[EVP_MAX_MD_SIZE];
	unsigned len;
};

static void *hash_main(void *arg)
{
	struct hash_job *j = arg;
	j->rc = gate_pe_digest(j->fd, &j->pe, EVP_sha256(), j->out, &j->len, &j->err);
	ERR_clear_error();
	return NULL;
}

static void hash_start(struct hash_job *j, int fd, const struct gate_pe *pe)
{
	j->fd = fd;
	j->pe = *pe;
	j->started = pthread_create(&j->tid, NULL, hash_main, j) == 0;
}

static void hash_join(struct hash_job *j)
{
	if (j->started && !j->joined)
		pthread_join(j->tid, NULL);
	j->joined = true;
}

struct gate_pe_prehash {
	struct hash_job job;
};

struct gate_pe_prehash *gate_pe_prehash(int fd)
{
	struct gate_pe early;
	memset(&early, 0, sizeof early); /* compared whole (padding too) */
	if (gate_pe_parse(fd, &early, NULL) != GATE_OK || !early.cert_len)
		return NULL;
	struct gate_pe_prehash *p = calloc(1, sizeof(*p));
	if (p)
		hash_start(&p->job, fd, &early);
	if (p && !p->job.started) {
		free(p);
		p = NULL;
	}
	return p;
}

void gate_pe_prehash_free(struct gate_pe_prehash *p)
{
	if (!p)
		return;
	hash_join(&p->job);
	free(p);
}

/* The image digest under md: the job's when it hashed that, else now. */
static enum gate_err image_digest(const struct gate_cs_input *in, const struct gate_pe *pe,
				  const EVP_MD *md, struct hash_job *job, uint8_t *img,
				  unsigned *imglen, struct gate_error *err)
{
	hash_join(job);
	/* The job hashed the layout it parsed; a file that changed under us
	 * since is hashed again, as parsed now. */
	if (job->started && EVP_MD_get_type(md) == NID_sha256 &&
	    memcmp(&job->pe, pe, sizeof(*pe)) == 0) {
		if (job->rc != GATE_OK) {
			if (err)
				*err = job->err;
			return job->rc;
		}
		memcpy(img, job->out, job->len);
		*imglen = job->len;
		return GATE_OK;
	}
	return gate_pe_digest(in->fd, pe, md, img, imglen, err);
}

static enum gate_err verify_one(const struct gate_cs_input *in, const struct gate_cs_opts *o,
				const struct gate_pe *pe, PKCS7 *p7, struct hash_job *job,
				const char *field, struct gate_facts **out, struct gate_error *err)
{
	struct spc spc = {0};
	const EVP_MD *md = NULL;
	uint8_t img[EVP_MAX_MD_SIZE], d[EVP_MAX_MD_SIZE];
	unsigned imglen = 0, dl = 0;
	X509 *signer = NULL;
	struct gate_cs_time ts;
	struct gate_facts *f = NULL;
	enum gate_err rc;
	ASN1_OBJECT *ctype = OBJ_txt2obj(OID_SPC_INDIRECT_DATA, 1);
	PKCS7 *inner = p7->d.sign->contents;
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	if (!ctype) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	if (OBJ_cmp(inner->type, ctype) != 0) {
		rc = SPC_FAIL(err, field, "signed content is not SpcIndirectDataContent");
		goto out;
	}
	if ((rc = parse_spc(inner->d.other, &spc, field, err)) != GATE_OK)
		goto out;
	/* The signature side, while the image is hashed. */
	rc = gate_cs_signer_md(si, field, &md, err);
	if (rc == GATE_OK && EVP_Digest(spc.content, spc.content_len, d, &dl, md, NULL) != 1)
		rc = gate_fail(err, GATE_E_INTERNAL, NULL, field, "digest failed");
	if (rc == GATE_OK)
		rc = gate_cs_signer_check(p7, si, ctype, d, dl, false, field, &signer, err);
	if (rc == GATE_OK && gate_cs_timestamp(o->trust, p7, si, o->now, &ts) != GATE_OK)
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
	if (rc == GATE_OK)
		rc = gate_cs_finish(o->trust, p7, signer, &ts, o->now, "authenticode", field, &f,
				    err);
	/* A changed file is the first thing to say, whatever else failed. */
	enum gate_err hrc = image_digest(in, pe, spc.md, job, img, &imglen, err);
	if (hrc == GATE_OK && (imglen != spc.digest_len || !gate_ct_eq(img, spc.digest, imglen)))
		hrc = gate_fail(err, GATE_E_DIGEST, "C11", field,
				"the file's Authenticode digest does not match the signed digest: "
				"the file was changed after signing");
	if (hrc == GATE_OK)
		hrc = check_tail(pe, err);
	if (hrc != GATE_OK || rc != GATE_OK) {
		rc = hrc != GATE_OK ? hrc : rc;
		goto out;
	}
	char hex[2 * EVP_MAX_MD_SIZE + 16];
	int mdn = EVP_MD_get_type(spc.md);
	int pfx = snprintf(hex, sizeof hex, "%s:",
			   mdn == NID_sha512   ? "sha512"
			   : mdn == NID_sha384 ? "sha384"
					       : "sha256");
	gate_hex_encode(img, imglen, hex + (pfx > 0 ? pfx : 0));
	if (gate_facts_add_ext(f, "authenticode_digest", hex) != GATE_OK ||
	    gate_facts_add_ext(f, "page_hashes",
			       spc.page_hashes ? "present, not verified" : "none") != GATE_OK) {
		rc = gate_fail(err, GATE_E_NOMEM, NULL, field, "out of memory");
		goto out;
	}
	*out = f;
	f = NULL;
out:
	gate_facts_free(f);
	ASN1_OBJECT_free(ctype);
	ERR_clear_error();
	return rc;
}

enum gate_err gate_pe_verify(const struct gate_cs_input *in, const struct gate_cs_opts *o,
			     struct gate_facts **out, struct gate_error *err)
{
	struct gate_pe pe, early;
	memset(&early, 0, sizeof early); /* compared whole (padding too) */
	struct sigs s = {0};
	/* The caller's hash when it started one (gate_pe_prehash), else ours. */
	struct hash_job *job = in->prehash ? &in->prehash->job : calloc(1, sizeof(*job));
	char field[48];
	if (!job)
		return gate_fail(err, GATE_E_NOMEM, NULL, "authenticode", "out of memory");
	if (!in->prehash && gate_pe_parse(in->fd, &early, NULL) == GATE_OK && early.cert_len)
		hash_start(job, in->fd, &early);
	enum gate_err rc = load_sigs(in->fd, &pe, &s, err);
	if (rc == GATE_OK && pe.cert_len == 0)
		rc = gate_fail(err, GATE_E_SIGNATURE, "C9", "pe.certificate_table",
			       "the file is not signed (no certificate table)");
	if (rc == GATE_OK && in->index >= s.n)
		rc = gate_fail(err, GATE_E_USAGE, NULL, "authenticode",
			       "no signature #%zu (%zu in the file)", in->index, s.n);
	if (rc == GATE_OK) {
		if (in->index)
			snprintf(field, sizeof field, "authenticode.nested[%zu]", in->index);
		else
			snprintf(field, sizeof field, "authenticode");
		rc = verify_one(in, o, &pe, s.p7[in->index], job, field, out, err);
		if (rc == GATE_OK)
			(*out)->n_signatures = s.n;
	}
	hash_join(job);
	if (!in->prehash)
		free(job);
	sigs_clear(&s);
	return rc;
}
