/*
 * codesign.h - internals of classic X.509 code signing: CMS/PKCS#7 signer
 * verification, timestamps, chains and the code-signing profile,
 * revocation, and the PE and ZIP readers. Never installed.
 */
#ifndef GATE_VERIFY_CODESIGN_H
#define GATE_VERIFY_CODESIGN_H

#include "internal.h"

#include <openssl/pkcs7.h>
#include <pthread.h>

/* Named caps on untrusted input. */
#define GATE_CS_MAX_SIG (1u * 1024 * 1024)	  /* a .p7s or one signature block */
#define GATE_CS_MAX_CERTS 32			  /* certificates in one signature */
#define GATE_CS_MAX_ROOTS 4096			  /* certificates in one trust file */
#define GATE_CS_MAX_ROOTS_FILE (16u * 1024 * 1024) /* a trust file (a system bundle) */
#define GATE_CS_MAX_SANS 1024			  /* SANs of a signing certificate */
#define GATE_CS_MAX_SIGS 16			  /* signatures in one file */
#define GATE_CS_MAX_NEST 4			  /* nesting of Authenticode signatures */
#define GATE_CS_MAX_CRL (16u * 1024 * 1024)	  /* one CRL, file or download */
#define GATE_CS_MAX_CRLS 64			  /* CRL files + cached downloads */
#define GATE_PE_MAX_SECTIONS 96			  /* the PE format's own limit */
#define GATE_PE_MAX_CERT_TABLE (8u * 1024 * 1024) /* Authenticode certificate table */
#define GATE_PE_MAX_CERT_ENTRIES 8		  /* WIN_CERTIFICATE entries */
#define GATE_ZIP_MAX_ENTRIES 65535		  /* central directory entries */
#define GATE_ZIP_MAX_NAME 4096			  /* bytes of one entry name */
#define GATE_JAR_MAX_META (8u * 1024 * 1024)	  /* MANIFEST.MF, one .SF */
#define GATE_JAR_MAX_ENTRY_SIZE (4ull << 30)	  /* uncompressed bytes of one entry */

/* ---- trust (x509cs.c) ---- */

/* A named set of certificates. The DER is kept as read; the certificates
 * are decoded on first use (gate_x509_trust_ready): OpenSSL's key decoders
 * would otherwise dominate a one-shot verification, and with the decoding
 * done behind the image hash (pe.c) it costs nothing. */
struct gate_x509_rootset {
	char *name;
	uint8_t **der;
	size_t *der_len;
	size_t n;
	STACK_OF(X509) *certs; /* decoded */
	char (*fps)[65];       /* hex SHA-256 of each certificate's DER */
};

struct gate_crl_cache; /* downloaded CRLs (crl.c) */

struct gate_x509_trust {
	struct gate_x509_rootset *roots;
	size_t nroots;
	struct gate_x509_rootset *tsas;
	size_t ntsas;
	pthread_mutex_t mu; /* guards the decoding below */
	bool decoded;
	enum gate_err decode_rc;
	struct gate_error decode_err;
	X509_STORE *store; /* every root certificate, once decoded */
	STACK_OF(X509_CRL) *crls;
	enum gate_crl_mode crl_mode;
	bool crl_fetch;
	char *crl_cache_dir;
	struct gate_crl_cache *cache;
};

/* Decode every certificate of t (once; thread-safe). GATE_OK, or
 * GATE_E_TRUST_ROOT naming the set and certificate that does not parse. */
enum gate_err gate_x509_trust_ready(const struct gate_x509_trust *t, struct gate_error *err);

/* ---- one signature (cs_signer.c) ---- */

/* A parsed PKCS#7 SignedData: DER (or PEM "PKCS7"/"CMS" when pem_ok),
 * signed type, at most GATE_CS_MAX_CERTS certificates and
 * GATE_CS_MAX_SIGS signers. field names the input in messages. */
enum gate_err gate_cs_parse_p7(const uint8_t *buf, size_t len, bool pem_ok, const char *field,
			       PKCS7 **out, struct gate_error *err);
/* The SignerInfo's digest algorithm: SHA-256/384/512 (SHA-1 and MD5 are
 * rejected). */
enum gate_err gate_cs_signer_md(PKCS7_SIGNER_INFO *si, const char *field, const EVP_MD **md,
				struct gate_error *err);
/* Check SignerInfo si of p7 over content whose digest (under the signer's
 * algorithm) is digest: with signed attributes, contentType must be
 * ctype and messageDigest the digest, and the signature covers the
 * attributes; without, the signature covers the content itself (allowed
 * only when attrs_optional). *signer is the signing certificate (borrowed
 * from p7). GATE_OK, GATE_E_DIGEST, GATE_E_SIGNATURE, GATE_E_PARSE,
 * GATE_E_UNSUPPORTED. */
enum gate_err gate_cs_signer_check(PKCS7 *p7, PKCS7_SIGNER_INFO *si, const ASN1_OBJECT *ctype,
				   const uint8_t *digest, size_t dlen, bool attrs_optional,
				   const char *field, X509 **signer, struct gate_error *err);

/* The signing time of a SignerInfo, from its unsigned attributes. */
struct gate_cs_time {
	bool present;  /* some timestamp was there */
	bool verified; /* ... and verified: time is usable */
	int64_t time;
	enum gate_time_source source;
	char why[200]; /* why a present timestamp did not verify */
};

/* Find and verify a timestamp of si: an RFC 3161 token (CMS
 * id-aa-timeStampToken or Microsoft's 1.3.6.1.4.1.311.3.3.1) or a PKCS#9
 * countersignature (its certificates from p7), against t's TSA roots at
 * the time it states, which must not be after now. Never fails on a bad
 * timestamp: ts says why. Returns GATE_E_NOMEM only. */
enum gate_err gate_cs_timestamp(const struct gate_x509_trust *t, PKCS7 *p7, PKCS7_SIGNER_INFO *si,
				int64_t now, struct gate_cs_time *ts);

/* Chain of signer (helpers: p7's certificates) to a root of t at the
 * signing time, the code-signing profile, revocation; then the facts.
 * Returns GATE_OK with *out, or GATE_E_CERT (with the reason). */
enum gate_err gate_cs_finish(const struct gate_x509_trust *t, PKCS7 *p7, X509 *signer,
			     const struct gate_cs_time *ts, int64_t now, const char *format,
			     const char *field, struct gate_facts **out, struct gate_error *err);

/* Add an extension fact (name is static; value copied). */
enum gate_err gate_facts_add_ext(struct gate_facts *f, const char *name, const char *value);

/* ---- revocation (crl.c) ---- */

/* Revocation of every certificate of chain (leaf first, anchor last) at
 * time t, per t->crl_mode. note receives a summary for the facts. GATE_OK or
 * GATE_E_CERT. */
enum gate_err gate_cs_revocation(const struct gate_x509_trust *t, STACK_OF(X509) *chain,
				 int64_t t_sign, int64_t now, char *note, size_t notelen,
				 const char *field, struct gate_error *err);
void gate_crl_cache_free(struct gate_crl_cache *c);
enum gate_err gate_crl_cache_new(struct gate_crl_cache **out);

/* ---- DER (x509cs.c) ---- */

/* The next TLV of r: a one-byte tag, a definite minimal length, inside r;
 * val is its content and *hdr (when asked) its header's length. */
bool gate_der_next(struct gate_rd *r, uint8_t *tag, struct gate_rd *val, size_t *hdr);
/* Whether the content octets of an OBJECT IDENTIFIER are the OID txt. */
bool gate_der_oid_is(const struct gate_rd *v, const char *txt);

/* ---- streaming reads ---- */

/* pread exactly len bytes at off (EINTR retried). False on a short read. */
bool gate_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* File size of fd (regular file). */
bool gate_fd_size(int fd, uint64_t *size);

/* ---- PE (pe.c) ---- */

struct gate_pe {
	uint64_t size; /* file size */
	bool pe32plus;
	uint64_t checksum_off;	     /* CheckSum field */
	uint64_t certdir_off;	     /* the certificate table's data directory entry */
	uint64_t cert_off, cert_len; /* the certificate table; 0, 0 when unsigned */
	uint64_t headers_end;	     /* end of the headers and section table */
	unsigned nsections;
};

/* Parse and check the headers of a PE file (every offset and size against
 * the file size). GATE_E_PARSE with the field and reason. */
enum gate_err gate_pe_parse(int fd, struct gate_pe *pe, struct gate_error *err);
/* "MZ" and a "PE\0\0" signature where e_lfanew points: a PE file, maybe
 * malformed beyond that. */
bool gate_pe_sniff(int fd);
/* The Authenticode digest of the image under md: everything before the
 * certificate table except the CheckSum and the table's directory entry,
 * streamed in chunks. */
enum gate_err gate_pe_digest(int fd, const struct gate_pe *pe, const EVP_MD *md, uint8_t *out,
			     unsigned *outlen, struct gate_error *err);

/* ---- ZIP (zip.c) ---- */

struct gate_zip_entry {
	char *name;
	uint64_t local_off; /* local header */
	uint64_t data_off;  /* first byte of the (compressed) data */
	uint64_t csize, usize;
	uint32_t crc;
	uint16_t method; /* 0 stored, 8 deflated */
	uint16_t flags;
};

struct gate_zip {
	int fd;
	uint64_t size;
	struct gate_zip_entry *e;
	size_t n;
};

/* Read the central directory of a ZIP file: EOCD, every entry (at most
 * GATE_ZIP_MAX_ENTRIES), each cross-checked with its local header; no
 * duplicate names, no overlapping data, no ZIP64, no encryption. */
enum gate_err gate_zip_open(int fd, struct gate_zip *z, struct gate_error *err);
void gate_zip_close(struct gate_zip *z);
/* Stream entry i's uncompressed bytes to sink (CRC-32 and size checked):
 * an entry declared over cap bytes is refused (GATE_E_TOO_LARGE) before it
 * is read, and one that inflates past its declared size is stopped there
 * (GATE_E_PARSE). */
typedef bool (*gate_zip_sink)(void *ctx, const uint8_t *p, size_t n);
enum gate_err gate_zip_read(const struct gate_zip *z, size_t i, uint64_t cap, gate_zip_sink sink,
			    void *ctx, struct gate_error *err);
/* Entry i whole into memory (at most cap bytes). */
enum gate_err gate_zip_read_mem(const struct gate_zip *z, size_t i, size_t cap, uint8_t **out,
				size_t *len, struct gate_error *err);
/* Index of the entry named name, or -1. */
long gate_zip_find(const struct gate_zip *z, const char *name);

/* ---- formats ---- */

enum gate_err gate_cms_count(const struct gate_cs_input *in, size_t *n, struct gate_error *err);
enum gate_err gate_cms_verify(const struct gate_cs_input *in, const struct gate_cs_opts *o,
			      struct gate_facts **out, struct gate_error *err);
enum gate_err gate_pe_count(const struct gate_cs_input *in, size_t *n, struct gate_error *err);
enum gate_err gate_pe_verify(const struct gate_cs_input *in, const struct gate_cs_opts *o,
			     struct gate_facts **out, struct gate_error *err);
enum gate_err gate_jar_count(const struct gate_cs_input *in, size_t *n, struct gate_error *err);
enum gate_err gate_jar_verify(const struct gate_cs_input *in, const struct gate_cs_opts *o,
			      struct gate_facts **out, struct gate_error *err);

#endif
