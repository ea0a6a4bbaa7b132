/* load_digests.c - the digests section of the policy: files allowed or
 * denied by their SHA-256 alone, before any rule (policy_model.h).
 *
 *   digests:
 *     deny: ["sha256:9f86d0...", ...]      inline
 *     deny_file: revoked.txt               one "sha256:HEX" per line, '#' comments
 *     allow: [...]
 *     allow_file: pinned.txt
 */
#include "load_int.h"

#include <stdlib.h>
#include <string.h>

#define DIGEST_FILE_MAX (16u * 1024 * 1024)
#define DIGESTS_MAX (1u << 20)

/* "sha256:" and 64 hex digits (either case) into 32 bytes. */
static bool parse_digest(const char *s, size_t n, uint8_t out[32])
{
	return n == 7 + 64 && strncmp(s, "sha256:", 7) == 0 && gate_hex_decode(s + 7, 64, out, 32);
}

static enum gate_err add(struct lctx *c, struct gate_digest_list *l, const uint8_t d[32])
{
	if (l->n == DIGESTS_MAX)
		return gate_fail(c->err, GATE_E_POLICY, NULL, "digests",
				 "more than %u digests in one list", DIGESTS_MAX);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		uint8_t(*nv)[32] = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		l->v = nv;
		l->cap = nc;
	}
	memcpy(l->v[l->n++], d, 32);
	return GATE_OK;
}

static enum gate_err load_inline(struct lctx *c, const struct gate_ynode *n, const char *what,
				 struct gate_digest_list *l)
{
	enum gate_err rc = gate_pl_want(c, n, GATE_Y_SEQ, what);
	uint8_t d[32];
	for (size_t i = 0; rc == GATE_OK && i < n->n; i++) {
		const char *s;
		if ((rc = gate_pl_scalar(c, n->kids[i], what, &s)) != GATE_OK)
			break;
		if (!parse_digest(s, strlen(s), d))
			return FAILN(c, n->kids[i], "%s: '%s' is not sha256: and 64 hex digits",
				     what, s);
		rc = add(c, l, d);
	}
	return rc;
}

/* A list file: errors name it and the line. */
static enum gate_err load_file(struct lctx *c, const struct gate_ynode *n, const char *what,
			       struct gate_digest_list *l)
{
	char *path = NULL;
	uint8_t *buf = NULL, d[32];
	size_t len = 0, line = 1;
	enum gate_err rc = gate_pl_path_str(c, n, what, &path);
	if (rc == GATE_OK &&
	    (rc = gate_read_file(path, DIGEST_FILE_MAX, &buf, &len, c->err)) != GATE_OK)
		rc = FAILN(c, n, "%s %s: %s", what, path, c->err->msg);
	for (char *s = (char *)buf, *end; rc == GATE_OK && s && s < (char *)buf + len;
	     s = end + 1, line++) {
		end = memchr(s, '\n', len - (size_t)(s - (char *)buf));
		if (!end)
			end = (char *)buf + len;
		size_t k = (size_t)(end - s);
		while (k && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r'))
			k--;
		while (k && (*s == ' ' || *s == '\t')) {
			s++;
			k--;
		}
		if (k == 0 || *s == '#')
			continue;
		if (!parse_digest(s, k, d))
			rc = FAILN(c, n, "%s %s:%zu: not sha256: and 64 hex digits", what, path,
				   line);
		else
			rc = add(c, l, d);
	}
	free(buf);
	free(path);
	return rc;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

enum gate_err gate_pl_load_digests(struct lctx *c, const struct gate_ynode *m)
{
	static const char *const keys[] = {"allow", "allow_file", "deny", "deny_file", NULL};
	struct gate_policy *p = c->p;
	const struct gate_ynode *n;
	enum gate_err rc = gate_pl_check_map(c, m, "digests", keys);
	if (rc == GATE_OK && (n = gate_pl_get(m, "deny")))
		rc = load_inline(c, n, "digests.deny", &p->deny_digests);
	if (rc == GATE_OK && (n = gate_pl_get(m, "deny_file")))
		rc = load_file(c, n, "digests.deny_file", &p->deny_digests);
	if (rc == GATE_OK && (n = gate_pl_get(m, "allow")))
		rc = load_inline(c, n, "digests.allow", &p->allow_digests);
	if (rc == GATE_OK && (n = gate_pl_get(m, "allow_file")))
		rc = load_file(c, n, "digests.allow_file", &p->allow_digests);
	if (p->deny_digests.n)
		qsort(p->deny_digests.v, p->deny_digests.n, 32, cmp32);
	if (p->allow_digests.n)
		qsort(p->allow_digests.v, p->allow_digests.n, 32, cmp32);
	return rc;
}

bool gate_digest_listed(const struct gate_digest_list *l, const uint8_t sha256[32])
{
	return l->n && bsearch(sha256, l->v, l->n, 32, cmp32) != NULL;
}
