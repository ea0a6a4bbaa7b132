/* tlog.c - transparency log evidence (spec/SIGSTORE.md): the
 * SignedEntryTimestamp (S7), the signed checkpoint (S8) and the Merkle
 * inclusion proof (S9). Everything here is untrusted bundle input checked
 * against trusted-root keys. */
#include "internal.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F_PROOF "inclusionProof"
#define F_CKPT "inclusionProof.checkpoint"
#define F_SET "inclusionPromise.signedEntryTimestamp"

/* Signature lines per note: C2SP lets verifiers bound the work a note can
 * make them do; the byte cap alone would still allow ~200 verifications. */
#define MAX_NOTE_SIGS 100

/* How much of an untrusted line an error message quotes. */
#define QUOTE_MAX 48

/* SHA-256 over several buffers without concatenating them (bodies can be
 * large, and the RSA checkpoint key ID hashes four pieces). */
struct part {
	const void *p;
	size_t n;
};

static bool sha256_parts(const struct part *parts, size_t nparts, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (size_t i = 0; ok && i < nparts; i++)
		ok = parts[i].n == 0 || EVP_DigestUpdate(ctx, parts[i].p, parts[i].n) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* ---- S9: inclusion proof ---- */

/* RFC 6962 §2.1 interior node; the 0x01 prefix keeps nodes and leaves in
 * separate domains (no second-preimage via a leaf that looks like a node). */
static void node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
	uint8_t buf[1 + 64];
	buf[0] = 0x01;
	memcpy(buf + 1, left, 32);
	memcpy(buf + 33, right, 32);
	gate_sha256(buf, sizeof(buf), out); /* out may alias left/right: copied above */
}

enum gate_err gate_merkle_verify(const uint8_t *body, size_t body_len, uint64_t index,
				 uint64_t size, const uint8_t (*hashes)[32], size_t nhashes,
				 const uint8_t root[32], struct gate_error *err)
{
	static const uint8_t leaf_prefix = 0x00;
	uint8_t r[32];
	if ((!body && body_len) || (!hashes && nhashes) || !root)
		return gate_fail(err, GATE_E_INTERNAL, "S9", F_PROOF, "missing argument");
	/* Also covers size 0: no leaf can be in an empty tree. */
	if (index >= size)
		return gate_fail(err, GATE_E_INCLUSION, "S9", F_PROOF,
				 "leaf index %" PRIu64 " is not below tree size %" PRIu64, index,
				 size);
	/* A tree of at most 2^64 leaves has paths of at most 64 hashes. */
	if (nhashes > GATE_MAX_PROOF_HASHES)
		return gate_fail(err, GATE_E_INCLUSION, "S9", F_PROOF,
				 "proof has %zu hashes, over the limit of %d", nhashes,
				 GATE_MAX_PROOF_HASHES);
	const struct part leaf[] = {{&leaf_prefix, 1}, {body, body_len}};
	if (!sha256_parts(leaf, 2, r))
		return gate_fail(err, GATE_E_INTERNAL, "S9", F_PROOF, "cannot hash the leaf");
	/* The S9 algorithm verbatim (RFC 9162 §2.1.3.2): fn walks the leaf's
	 * position up the tree, sn the last leaf's; the path must end exactly
	 * when they reach the root (sn == 0), so a path that is too long or too
	 * short for (index, size) fails even if it hashes to the root. */
	uint64_t fn = index, sn = size - 1;
	for (size_t i = 0; i < nhashes; i++) {
		if (sn == 0)
			return gate_fail(err, GATE_E_INCLUSION, "S9", F_PROOF,
					 "proof has %zu hashes, more than leaf %" PRIu64
					 " of a tree of size %" PRIu64 " needs",
					 nhashes, index, size);
		if ((fn & 1) || fn == sn) {
			node_hash(hashes[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			node_hash(r, hashes[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return gate_fail(err, GATE_E_INCLUSION, "S9", F_PROOF,
				 "proof has %zu hashes, too few for leaf %" PRIu64
				 " of a tree of size %" PRIu64,
				 nhashes, index, size);
	if (!gate_ct_eq(r, root, 32))
		return gate_fail(err, GATE_E_INCLUSION, "S9", F_PROOF,
				 "the proof does not lead to the root hash");
	return GATE_OK;
}

/* ---- S8: checkpoint (C2SP signed note + tlog-checkpoint) ---- */

struct ckpt {
	uint64_t size;
	uint8_t root[32];
};

/* Take one '\n'-terminated line (without its '\n'); false if none is left
 * or the rest has no newline. */
static bool next_line(struct gate_rd *r, const uint8_t **line, size_t *len)
{
	const uint8_t *nl = r->n ? memchr(r->p, '\n', r->n) : NULL;
	if (!nl)
		return false;
	*len = (size_t)(nl - r->p);
	return gate_rd_bytes(r, *len + 1, line);
}

static int quote_len(size_t n)
{
	return (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
}

/* Canonical unsigned decimal: digits only (no sign, no space), no leading
 * zero, no overflow. */
static bool parse_u64(const uint8_t *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static enum gate_err parse_root_line(const uint8_t *line, size_t n, uint8_t root[32],
				     struct gate_error *err)
{
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	/* err NULL: a base64 failure is an S8 checkpoint error, not S1. */
	bool ok = gate_b64_decode((const char *)line, n, &raw, &rawlen, F_CKPT, NULL) == GATE_OK &&
		  rawlen == 32;
	if (ok)
		memcpy(root, raw, 32);
	free(raw);
	if (!ok)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "root hash line '%.*s' is not base64 of 32 bytes", quote_len(n),
				 (const char *)line);
	return GATE_OK;
}

/* Note text (C2SP tlog-checkpoint): origin, tree size, root hash, then
 * extension lines (Rekor v1 adds "Timestamp: ..."). The origin is only
 * required to be present: Rekor v1 writes "<host> - <treeID>", which is not
 * the key name, and the signature check below is what binds the note to
 * the log. */
static enum gate_err parse_text(const uint8_t *text, size_t len, struct ckpt *c,
				struct gate_error *err)
{
	struct gate_rd r = {text, len};
	const uint8_t *line;
	size_t n;
	if (!next_line(&r, &line, &n) || n == 0)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT, "missing origin line");
	if (!next_line(&r, &line, &n) || n == 0)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT, "missing tree size line");
	if (!parse_u64(line, n, &c->size))
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "tree size line '%.*s' is not a decimal number", quote_len(n),
				 (const char *)line);
	if (!next_line(&r, &line, &n) || n == 0)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT, "missing root hash line");
	enum gate_err rc = parse_root_line(line, n, c->root, err);
	if (rc != GATE_OK)
		return rc;
	while (next_line(&r, &line, &n))
		if (n == 0)
			return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
					 "empty extension line in the note text");
	return GATE_OK;
}

/* The 4-byte key ID a log's signature lines carry (S8). ECDSA: logId is
 * SHA-256(SPKI); Ed25519 (Rekor v2): logId is the C2SP key hash
 * SHA-256(name || 0x0A || 0x01 || raw key). In both cases the ID is
 * logId[:4], and the trusted root's logId is what we trust. RSA logs use
 * the sigstore-go convention with a 0xFF type byte and an algorithm tag. */
static enum gate_err log_key_id(const struct gate_log *log, uint8_t id[4], struct gate_error *err)
{
	static const uint8_t sep[2] = {0x0A, 0xFF};
	static const char rsa_tag[] = "PKIX-RSA-PKCS#1v1.5";
	uint8_t d[32];
	const struct gate_pubkey *key = gate_log_key(log);
	switch (key->alg) {
	case GATE_ALG_ECDSA_P256_SHA256:
	case GATE_ALG_ECDSA_P384_SHA384:
	case GATE_ALG_ECDSA_P521_SHA512:
	case GATE_ALG_ED25519:
		memcpy(id, log->log_id, 4);
		return GATE_OK;
	case GATE_ALG_RSA_PKCS1_SHA256:
	case GATE_ALG_RSA_PKCS1_SHA384:
	case GATE_ALG_RSA_PKCS1_SHA512: {
		const struct part parts[] = {{log->key_name, strlen(log->key_name)},
					     {sep, sizeof(sep)},
					     {rsa_tag, sizeof(rsa_tag) - 1},
					     {key->spki, key->spki_len}};
		if (!sha256_parts(parts, 4, d))
			return gate_fail(err, GATE_E_INTERNAL, "S8", F_CKPT, "cannot hash key");
		memcpy(id, d, 4);
		return GATE_OK;
	}
	default:
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "log %s: key algorithm has no checkpoint key ID rule",
				 log->key_name);
	}
}

/* What the signature lines are checked against. */
struct note_ctx {
	const uint8_t *text; /* signed bytes: note text including its last '\n' */
	size_t text_len;
	const struct gate_log *log;
	uint8_t id[4];
	size_t verified;
};

/* One signature line: "— <name> <base64(keyID[4] || sig)>". Lines from other
 * keys (witness cosignatures, a rotated log key with the same name) are
 * skipped, but a line that is not a signature line at all makes the note
 * malformed (C2SP). A line from the log's key must verify. */
static enum gate_err check_sig_line(struct note_ctx *c, const uint8_t *line, size_t n,
				    size_t lineno, struct gate_error *err)
{
	static const char dash[] = "\xE2\x80\x94 ";
	const size_t dlen = sizeof(dash) - 1;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	enum gate_err rc = GATE_OK;
	if (n < dlen || memcmp(line, dash, dlen) != 0)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "signature line %zu does not start with an em dash", lineno);
	const uint8_t *name = line + dlen;
	const uint8_t *sp = memchr(name, ' ', n - dlen);
	if (!sp || sp == name)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "signature line %zu is not a key name and a signature", lineno);
	size_t name_len = (size_t)(sp - name), b64_len = n - dlen - name_len - 1;
	if (gate_b64_decode((const char *)sp + 1, b64_len, &raw, &rawlen, F_CKPT, NULL) !=
		    GATE_OK ||
	    rawlen < 5) {
		rc = gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
			       "signature line %zu is not base64 of a key ID and a signature",
			       lineno);
		goto out;
	}
	if (name_len != strlen(c->log->key_name) || memcmp(name, c->log->key_name, name_len) != 0 ||
	    memcmp(raw, c->id, 4) != 0)
		goto out; /* another signer: ignored (S8, §5) */
	const struct gate_pubkey *key = gate_log_key(c->log);
	if (gate_sig_verify_msg(key->pkey, key->alg, c->text, c->text_len, raw + 4, rawlen - 4) !=
	    GATE_OK) {
		rc = gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
			       "signature line %zu from %s does not verify", lineno,
			       c->log->key_name);
		goto out;
	}
	c->verified++;
out:
	free(raw);
	return rc;
}

static enum gate_err check_sig_lines(struct note_ctx *c, const uint8_t *sigs, size_t len,
				     struct gate_error *err)
{
	struct gate_rd r = {sigs, len};
	const uint8_t *line;
	size_t n, lineno = 0;
	while (r.n > 0) {
		if (!next_line(&r, &line, &n))
			return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
					 "the note does not end with a newline");
		if (++lineno > MAX_NOTE_SIGS)
			return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
					 "more than %d signature lines", MAX_NOTE_SIGS);
		enum gate_err rc = check_sig_line(c, line, n, lineno, err);
		if (rc != GATE_OK)
			return rc;
	}
	if (c->verified == 0)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "no signature line from %s verified", c->log->key_name);
	return GATE_OK;
}

/* C2SP: a note holds no control characters but newline. Checked up front
 * so that NULs cannot hide text from string functions or messages. */
static bool note_chars_ok(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7f)
			return false;
	return true;
}

/* Length of the note text: up to and including the first '\n' of the LAST
 * "\n\n" (S8). Signature lines never contain "\n\n", so the last one is the
 * separator even if the text itself holds a blank line. 0 if none. */
static size_t note_text_len(const uint8_t *p, size_t len)
{
	for (size_t i = len; i >= 2; i--)
		if (p[i - 1] == '\n' && p[i - 2] == '\n')
			return i - 1;
	return 0;
}

enum gate_err gate_checkpoint_verify(const char *note, size_t len, const struct gate_log *log,
				     uint64_t tree_size, const uint8_t root_hash[32],
				     struct gate_error *err)
{
	const uint8_t *p = (const uint8_t *)note;
	struct ckpt ck;
	struct note_ctx c = {.log = log};
	enum gate_err rc;
	if (!note || !log || !log->key_name || !root_hash)
		return gate_fail(err, GATE_E_INTERNAL, "S8", F_CKPT, "missing argument");
	if (!gate_log_key(log))
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "log %s has no usable key in the trusted root", log->key_name);
	if (len > GATE_MAX_CHECKPOINT)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "checkpoint is %zu bytes, over the %d-byte limit", len,
				 GATE_MAX_CHECKPOINT);
	if (!note_chars_ok(p, len))
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "checkpoint holds a control character");
	c.text = p;
	c.text_len = note_text_len(p, len);
	if (c.text_len == 0)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "no blank line between the note text and its signatures");
	if ((rc = parse_text(p, c.text_len, &ck, err)) != GATE_OK ||
	    (rc = log_key_id(log, c.id, err)) != GATE_OK ||
	    (rc = check_sig_lines(&c, p + c.text_len + 1, len - c.text_len - 1, err)) != GATE_OK)
		return rc;
	/* Only now is the text trusted. Binding size and root to the proof is
	 * what makes S9 mean anything (§5: sigstore-python #248). */
	if (ck.size != tree_size)
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "tree size %" PRIu64
				 " does not match inclusion proof tree size %" PRIu64,
				 ck.size, tree_size);
	if (!gate_ct_eq(ck.root, root_hash, 32))
		return gate_fail(err, GATE_E_CHECKPOINT, "S8", F_CKPT,
				 "root hash does not match the inclusion proof root hash");
	return GATE_OK;
}

/* ---- S7: SignedEntryTimestamp ---- */

/* The body is pasted into JSON unescaped, so it must be pure base64 text:
 * anything else could change the payload's structure. */
static bool b64_text(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '='))
			return false;
	}
	return true;
}

/* Rekor's SET payload: RFC 8785 canonical JSON, keys in sorted order, no
 * whitespace (S7). Returns a malloc'd string or NULL on OOM. */
static char *set_payload(const struct gate_tlog_entry *e, size_t *len)
{
	static const char fmt[] =
		"{\"body\":\"%s\",\"integratedTime\":%" PRId64 ",\"logID\":\"%s\","
		"\"logIndex\":%" PRId64 "}";
	char hex[65];
	gate_hex_encode(e->log_id, 32, hex);
	int n = snprintf(NULL, 0, fmt, e->body_b64, e->integrated_time, hex, e->log_index);
	if (n < 0)
		return NULL;
	char *buf = malloc((size_t)n + 1);
	if (!buf)
		return NULL;
	snprintf(buf, (size_t)n + 1, fmt, e->body_b64, e->integrated_time, hex, e->log_index);
	*len = (size_t)n;
	return buf;
}

enum gate_err gate_set_verify(const struct gate_tlog_entry *e, const struct gate_log *log,
			      struct gate_error *err)
{
	if (!e || !log)
		return gate_fail(err, GATE_E_INTERNAL, "S7", F_SET, "missing argument");
	if (!e->set || e->set_len == 0)
		return gate_fail(err, GATE_E_TLOG, "S7", F_SET, "no signedEntryTimestamp");
	const struct gate_pubkey *key = gate_log_key(log);
	if (!key)
		return gate_fail(err, GATE_E_TLOG, "S7", F_SET,
				 "log %s has no usable key in the trusted root",
				 log->key_name ? log->key_name : "?");
	if (!e->has_integrated_time)
		return gate_fail(err, GATE_E_TLOG, "S7", "integratedTime",
				 "a signedEntryTimestamp needs an integratedTime");
	/* The bundle cap bounds the body; this keeps snprintf's int result
	 * meaningful even if a caller skipped it. */
	if (!e->body_b64 || strlen(e->body_b64) > GATE_MAX_BUNDLE || !b64_text(e->body_b64))
		return gate_fail(err, GATE_E_TLOG, "S7", "canonicalizedBody",
				 "canonicalizedBody is missing or not base64 text");
	size_t plen = 0;
	char *payload = set_payload(e, &plen);
	if (!payload)
		return gate_fail(err, GATE_E_NOMEM, NULL, F_SET, "out of memory");
	enum gate_err rc = gate_sig_verify_msg(key->pkey, key->alg, (const uint8_t *)payload, plen,
					       e->set, e->set_len);
	free(payload);
	if (rc != GATE_OK)
		return gate_fail(err, GATE_E_TLOG, "S7", F_SET,
				 "signedEntryTimestamp does not verify with the key of %s",
				 log->key_name ? log->key_name : "?");
	/* integratedTime is covered by the SET, so it is used only now: the log
	 * key must have been valid then (closed interval, §2, §5 pitfall). */
	if (!gate_validity_contains(&log->valid, e->integrated_time))
		return gate_fail(err, GATE_E_TLOG, "S7", "integratedTime",
				 "integratedTime %" PRId64
				 " is outside the validity of the key of %s",
				 e->integrated_time, log->key_name ? log->key_name : "?");
	return GATE_OK;
}
