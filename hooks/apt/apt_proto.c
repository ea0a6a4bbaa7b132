/* apt_proto.c - parse APT's Pre-Install-Pkgs protocol (apt_proto.h). The
 * input is split into lines with a bounded cursor; each line is checked
 * before anything is copied out of it. */
#include "apt_proto.h"
#include "gate_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *gate_apt_op_name(enum gate_apt_op op)
{
	switch (op) {
	case GATE_APT_UNPACK:
		return "unpack";
	case GATE_APT_CONFIGURE:
		return "configure";
	case GATE_APT_REMOVE:
		return "remove";
	case GATE_APT_OP_ERROR:
		break;
	}
	return "error";
}

static void action_clear(struct gate_apt_action *a)
{
	free(a->name);
	free(a->old_version);
	free(a->old_arch);
	free(a->old_ma);
	free(a->new_version);
	free(a->new_arch);
	free(a->new_ma);
	free(a->deb);
}

void gate_apt_req_free(struct gate_apt_req *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nactions; i++)
		action_clear(&r->actions[i]);
	free(r->actions);
	free(r->lists_dir);
	free(r->status_file);
	free(r);
}

char *gate_apt_lists_dir(const char *dir, const char *state, const char *lists)
{
	const char *parts[3] = {dir ? dir : "/", state ? state : "var/lib/apt/",
				lists ? lists : "lists/"};
	size_t first = 0, len = 1;
	for (size_t i = 0; i < 3; i++) {
		if (parts[i][0] == '/')
			first = i; /* absolute: what came before does not count */
		len += strlen(parts[i]) + 1;
	}
	char *out = malloc(len), *o = out;
	if (!out)
		return NULL;
	for (size_t i = first; i < 3; i++) {
		for (const char *p = parts[i]; *p; p++)
			if (!(*p == '/' && o > out && o[-1] == '/'))
				*o++ = *p;
		if (o == out || o[-1] != '/')
			*o++ = '/';
	}
	if (o - out > 1)
		o--; /* no trailing slash */
	*o = '\0';
	return out;
}

/* ---- lines ---- */

struct line {
	const char *p;
	size_t n;    /* without the '\n' */
	unsigned no; /* 1-based */
};

struct cursor {
	const uint8_t *p;
	size_t n;
	unsigned no;
};

static enum gate_err fail_line(struct gate_error *err, enum gate_err code, unsigned no,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum gate_err fail_line(struct gate_error *err, enum gate_err code, unsigned no,
			       const char *fmt, ...)
{
	char msg[GATE_ERR_MSG_MAX - 24];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (no)
		gate_fail(err, code, NULL, "stdin", "line %u: %s", no, msg);
	else
		gate_fail(err, code, NULL, "stdin", "%s", msg);
	if (err)
		err->line = no;
	return code;
}

/* Next line, or GATE_OK with l->p == NULL at the end of the input. A line
 * must end with '\n' (apt always writes one: a missing one means the input
 * was cut) and must not hold a NUL byte. */
static enum gate_err next_line(struct cursor *c, struct line *l, struct gate_error *err)
{
	l->p = NULL;
	l->n = 0;
	if (c->n == 0)
		return GATE_OK;
	l->no = ++c->no;
	size_t scan = c->n < (size_t)GATE_APT_MAX_LINE + 1 ? c->n : (size_t)GATE_APT_MAX_LINE + 1;
	const uint8_t *nl = memchr(c->p, '\n', scan);
	if (!nl && scan > GATE_APT_MAX_LINE)
		return fail_line(err, GATE_E_TOO_LARGE, l->no, "longer than %u bytes",
				 GATE_APT_MAX_LINE);
	if (!nl)
		return fail_line(err, GATE_E_PARSE, l->no,
				 "the input ends without a newline (truncated?)");
	size_t n = (size_t)(nl - c->p);
	if (memchr(c->p, '\0', n))
		return fail_line(err, GATE_E_PARSE, l->no, "a NUL byte (not text)");
	l->p = (const char *)c->p;
	l->n = n;
	c->p += n + 1;
	c->n -= n + 1;
	return GATE_OK;
}

static bool is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

/* Up to 40 bytes of s for a message (gate_fail escapes them). */
static void snippet(const char *s, size_t n, char out[48])
{
	size_t k = n > 40 ? 40 : n;
	memcpy(out, s, k);
	strcpy(out + k, n > 40 ? "..." : "");
}

/* ---- fields of an action line ---- */

enum field_kind { F_NAME, F_VERSION, F_ARCH, F_MA, F_CMP };

static const char *const field_names[] = {"package name", "version", "architecture",
					  "Multi-Arch value", "comparison"};

static bool allowed_char(enum field_kind k, unsigned char ch)
{
	bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
	bool upper = ch >= 'A' && ch <= 'Z';
	switch (k) {
	case F_NAME:
		return alnum || upper || (ch && strchr("+-._:", ch) != NULL);
	case F_VERSION:
		return alnum || upper || (ch && strchr("+-._:~", ch) != NULL);
	case F_ARCH:
		return alnum || ch == '-';
	case F_MA:
		return (ch >= 'a' && ch <= 'z') || ch == '-';
	case F_CMP:
		break;
	}
	return false;
}

/* Check one space-separated field and copy it (NULL for "-" where "-"
 * means none). */
static enum gate_err take_field(const struct line *l, const char *f, size_t n, enum field_kind k,
				bool dash_ok, char **out, struct gate_error *err)
{
	char show[48];
	snippet(f, n, show);
	*out = NULL;
	if (n == 0)
		return fail_line(err, GATE_E_PARSE, l->no, "empty %s (two spaces in a row?)",
				 field_names[k]);
	if (n > GATE_APT_MAX_FIELD)
		return fail_line(err, GATE_E_TOO_LARGE, l->no, "%s longer than %d bytes",
				 field_names[k], GATE_APT_MAX_FIELD);
	if (dash_ok && n == 1 && f[0] == '-')
		return GATE_OK;
	for (size_t i = 0; i < n; i++)
		if (!allowed_char(k, (unsigned char)f[i]))
			return fail_line(err, GATE_E_PARSE, l->no, "malformed %s '%s'",
					 field_names[k], show);
	if (k == F_NAME && !((f[0] >= 'a' && f[0] <= 'z') || (f[0] >= 'A' && f[0] <= 'Z') ||
			     (f[0] >= '0' && f[0] <= '9')))
		return fail_line(err, GATE_E_PARSE, l->no, "malformed package name '%s'", show);
	if (!(*out = strndup(f, n)))
		return fail_line(err, GATE_E_NOMEM, l->no, "out of memory");
	return GATE_OK;
}

/* The action: the rest of the line. A path is absolute and has no
 * control byte; it may hold spaces (a local "apt install './a b.deb'"). */
static enum gate_err take_action(const struct line *l, const char *f, size_t n,
				 struct gate_apt_action *a, struct gate_error *err)
{
	static const struct {
		const char *word;
		enum gate_apt_op op;
	} words[] = {{"**CONFIGURE**", GATE_APT_CONFIGURE},
		     {"**REMOVE**", GATE_APT_REMOVE},
		     {"**ERROR**", GATE_APT_OP_ERROR}};
	char show[48];
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (n == strlen(words[i].word) && memcmp(f, words[i].word, n) == 0) {
			a->op = words[i].op;
			return GATE_OK;
		}
	snippet(f, n, show);
	if (n == 0 || f[0] != '/')
		return fail_line(err, GATE_E_PARSE, l->no,
				 "action '%s' is neither an absolute .deb path nor **CONFIGURE**, "
				 "**REMOVE** or **ERROR**",
				 show);
	if (n > GATE_APT_MAX_PATH)
		return fail_line(err, GATE_E_TOO_LARGE, l->no, ".deb path longer than %d bytes",
				 GATE_APT_MAX_PATH);
	for (size_t i = 0; i < n; i++)
		if (is_ctl((unsigned char)f[i]))
			return fail_line(err, GATE_E_PARSE, l->no,
					 "a control byte in the .deb path '%s'", show);
	a->op = GATE_APT_UNPACK;
	if (!(a->deb = strndup(f, n)))
		return fail_line(err, GATE_E_NOMEM, l->no, "out of memory");
	return GATE_OK;
}

/* v2: name oldver cmp newver action
 * v3: name oldver oldarch oldMA cmp newver newarch newMA action
 * Each field before the action is one token; where it goes in the action
 * (offset of a char * member) and how it is checked. */
struct field_desc {
	enum field_kind kind;
	size_t off;
};

#define FD(k, m)                                                                                   \
	{                                                                                          \
		k, offsetof(struct gate_apt_action, m)                                             \
	}
static const struct field_desc fields_v2[] = {FD(F_NAME, name), FD(F_VERSION, old_version),
					      FD(F_CMP, cmp), FD(F_VERSION, new_version)};
static const struct field_desc fields_v3[] = {
	FD(F_NAME, name), FD(F_VERSION, old_version), FD(F_ARCH, old_arch), FD(F_MA, old_ma),
	FD(F_CMP, cmp),	  FD(F_VERSION, new_version), FD(F_ARCH, new_arch), FD(F_MA, new_ma)};
#undef FD

static enum gate_err parse_action(unsigned version, const struct line *l, struct gate_apt_action *a,
				  struct gate_error *err)
{
	const struct field_desc *fd = version == 2 ? fields_v2 : fields_v3;
	size_t nf = version == 2 ? sizeof fields_v2 / sizeof fields_v2[0]
				 : sizeof fields_v3 / sizeof fields_v3[0];
	const char *p = l->p, *end = l->p + l->n;
	enum gate_err rc = GATE_OK;
	size_t spaces = 0;
	a->line = l->no;
	for (size_t i = 0; i < l->n; i++)
		spaces += l->p[i] == ' ';
	if (spaces < nf)
		return fail_line(err, GATE_E_PARSE, l->no,
				 "%zu fields, a version %u action line has %zu", spaces + 1,
				 version, nf + 1);
	for (size_t i = 0; i < nf && rc == GATE_OK; i++) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp) /* cannot happen: spaces >= nf */
			return fail_line(err, GATE_E_INTERNAL, l->no, "field split");
		size_t n = (size_t)(sp - p);
		if (fd[i].kind == F_CMP) {
			if (n != 1 || !strchr("<>=", p[0]))
				return fail_line(err, GATE_E_PARSE, l->no,
						 "comparison must be '<', '>' or '='");
			a->cmp = p[0];
		} else {
			char **dst = (char **)(void *)((char *)a + fd[i].off);
			rc = take_field(l, p, n, fd[i].kind, i != 0, dst, err);
		}
		p = sp + 1;
	}
	if (rc == GATE_OK)
		rc = take_action(l, p, (size_t)(end - p), a, err);
	return rc;
}

/* Version 1: nothing but absolute paths. */
static enum gate_err parse_v1_line(const struct line *l, struct gate_apt_action *a,
				   struct gate_error *err)
{
	char show[48];
	a->line = l->no;
	snippet(l->p, l->n, show);
	if (l->n == 0)
		return fail_line(err, GATE_E_PARSE, l->no, "an empty line in a version 1 list");
	if (l->p[0] != '/')
		return fail_line(err, GATE_E_PARSE, l->no,
				 "'%s' is neither 'VERSION N' nor an absolute .deb path", show);
	return take_action(l, l->p, l->n, a, err);
}

/* ---- the request ---- */

static enum gate_err add_action(struct gate_apt_req *r, size_t *cap, unsigned no,
				struct gate_apt_action **out, struct gate_error *err)
{
	if (r->nactions >= GATE_APT_MAX_ACTIONS)
		return fail_line(err, GATE_E_TOO_LARGE, no, "more than %d package actions",
				 GATE_APT_MAX_ACTIONS);
	if (r->nactions == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct gate_apt_action *na = realloc(r->actions, nc * sizeof(*na));
		if (!na)
			return fail_line(err, GATE_E_NOMEM, no, "out of memory");
		r->actions = na;
		*cap = nc;
	}
	*out = &r->actions[r->nactions++];
	memset(*out, 0, sizeof(**out));
	return GATE_OK;
}

/* "VERSION N" with N a decimal number: 2 and 3 are spoken. */
static enum gate_err parse_version(const struct line *l, unsigned *version, struct gate_error *err)
{
	char show[48];
	unsigned long v = 0;
	size_t i = 8; /* strlen("VERSION ") */
	snippet(l->p, l->n, show);
	if (l->n <= i || l->p[7] != ' ')
		return fail_line(err, GATE_E_PARSE, l->no, "malformed version line '%s'", show);
	for (; i < l->n; i++) {
		if (l->p[i] < '0' || l->p[i] > '9' || v > 100000)
			return fail_line(err, GATE_E_PARSE, l->no, "malformed version line '%s'",
					 show);
		v = v * 10 + (unsigned long)(l->p[i] - '0');
	}
	if (v == 1)
		return fail_line(err, GATE_E_UNSUPPORTED, l->no,
				 "'VERSION 1' is not sent by apt: version 1 is a bare list of "
				 ".deb paths with no VERSION line");
	if (v != 2 && v != 3)
		return fail_line(err, GATE_E_UNSUPPORTED, l->no,
				 "protocol version %lu is not supported (this hook speaks 1, 2 "
				 "and 3: set DPkg::Tools::Options::<hook>::Version \"3\")",
				 v);
	*version = (unsigned)v;
	return GATE_OK;
}

/* Key=Value lines up to the empty line. Values are apt's and the user's:
 * only their shape is checked, and only where apt keeps its lists and
 * dpkg's status is read (into dirs: Dir, Dir::State, Dir::State::lists,
 * Dir::State::status). */
static enum gate_err read_config_lines(struct cursor *c, struct gate_apt_req *r, char *dirs[4],
				       struct gate_error *err)
{
	struct line l;
	enum gate_err rc;
	for (;;) {
		if ((rc = next_line(c, &l, err)) != GATE_OK)
			return rc;
		if (!l.p)
			return fail_line(
				err, GATE_E_PARSE, c->no,
				"the input ends before the empty line that closes apt's "
				"configuration (truncated, or not the version %u protocol)",
				r->version);
		if (l.n == 0)
			return GATE_OK;
		const char *eq = memchr(l.p, '=', l.n);
		if (!eq || eq == l.p) {
			char show[48];
			snippet(l.p, l.n, show);
			return fail_line(err, GATE_E_PARSE, l.no,
					 "'%s' is not a Key=Value configuration line", show);
		}
		if (++r->nconfig > GATE_APT_MAX_CONFIG)
			return fail_line(err, GATE_E_TOO_LARGE, l.no,
					 "more than %d configuration lines", GATE_APT_MAX_CONFIG);
		static const char *const keys[4] = {"Dir", "Dir::State", "Dir::State::lists",
						    "Dir::State::status"};
		size_t kl = (size_t)(eq - l.p);
		for (int k = 0; k < 4; k++) {
			if (strlen(keys[k]) != kl || strncasecmp(l.p, keys[k], kl) != 0)
				continue;
			/* apt writes values %XX-quoted (spaces, '=', '"', controls) */
			const char *v = eq + 1;
			size_t vl = l.n - kl - 1, o = 0;
			free(dirs[k]);
			if (!(dirs[k] = malloc(vl + 1)))
				return fail_line(err, GATE_E_NOMEM, l.no, "out of memory");
			for (size_t i = 0; i < vl; i++) {
				uint8_t b;
				if (v[i] == '%' && i + 2 < vl &&
				    gate_hex_decode(v + i + 1, 2, &b, 1) && b != 0) {
					dirs[k][o++] = (char)b;
					i += 2;
				} else {
					dirs[k][o++] = v[i];
				}
			}
			dirs[k][o] = '\0';
		}
	}
}

static enum gate_err read_config(struct cursor *c, struct gate_apt_req *r, struct gate_error *err)
{
	char *dirs[4] = {NULL, NULL, NULL, NULL};
	enum gate_err rc = read_config_lines(c, r, dirs, err);
	if (rc == GATE_OK && (dirs[0] || dirs[1] || dirs[2]) &&
	    !(r->lists_dir = gate_apt_lists_dir(dirs[0], dirs[1], dirs[2])))
		rc = fail_line(err, GATE_E_NOMEM, 0, "out of memory");
	/* dpkg's status file: resolved the same way (apt's own default is
	 * absolute, /var/lib/dpkg/status) */
	if (rc == GATE_OK && dirs[3] &&
	    !(r->status_file = gate_apt_lists_dir(dirs[0], dirs[1], dirs[3])))
		rc = fail_line(err, GATE_E_NOMEM, 0, "out of memory");
	for (int k = 0; k < 4; k++)
		free(dirs[k]);
	return rc;
}

static enum gate_err parse_actions(struct cursor *c, struct gate_apt_req *r, struct line *first,
				   struct gate_error *err)
{
	struct line l = *first;
	size_t cap = 0;
	enum gate_err rc = GATE_OK;
	while (rc == GATE_OK && l.p) {
		struct gate_apt_action *a = NULL;
		if ((rc = add_action(r, &cap, l.no, &a, err)) != GATE_OK)
			break;
		if (r->version == 1)
			rc = parse_v1_line(&l, a, err);
		else if (l.n == 0)
			rc = fail_line(err, GATE_E_PARSE, l.no,
				       "an empty line among the package actions");
		else
			rc = parse_action(r->version, &l, a, err);
		if (rc == GATE_OK)
			rc = next_line(c, &l, err);
	}
	return rc;
}

enum gate_err gate_apt_parse(const uint8_t *buf, size_t len, struct gate_apt_req **out,
			     struct gate_error *err)
{
	struct cursor c = {.p = buf, .n = len};
	struct line l;
	enum gate_err rc;
	if (len > GATE_APT_MAX_INPUT)
		return fail_line(err, GATE_E_TOO_LARGE, 0, "more than %u bytes on stdin",
				 GATE_APT_MAX_INPUT);
	struct gate_apt_req *r = calloc(1, sizeof(*r));
	if (!r)
		return fail_line(err, GATE_E_NOMEM, 0, "out of memory");
	r->version = 1;
	if ((rc = next_line(&c, &l, err)) != GATE_OK)
		goto out;
	if (l.p && l.n >= 7 && memcmp(l.p, "VERSION", 7) == 0) {
		if ((rc = parse_version(&l, &r->version, err)) != GATE_OK ||
		    (rc = read_config(&c, r, err)) != GATE_OK ||
		    (rc = next_line(&c, &l, err)) != GATE_OK)
			goto out;
	}
	rc = parse_actions(&c, r, &l, err);
out:
	if (rc != GATE_OK) {
		gate_apt_req_free(r);
		return rc;
	}
	*out = r;
	return GATE_OK;
}

/* ---- reading the input ---- */

bool gate_apt_read_input(int fd, uint8_t **out, size_t *len)
{
	const size_t limit = (size_t)GATE_APT_MAX_INPUT + 1;
	size_t cap = 65536, n = 0;
	uint8_t *buf = malloc(cap);
	while (buf && n < limit) {
		if (n == cap) {
			size_t nc = cap * 2 < limit ? cap * 2 : limit;
			uint8_t *nb = realloc(buf, nc);
			if (!nb)
				break;
			buf = nb;
			cap = nc;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "gate hook apt: cannot read stdin: %s\n", strerror(errno));
			free(buf);
			return false;
		}
		if (r == 0) {
			*out = buf;
			*len = n;
			return true;
		}
		n += (size_t)r;
	}
	if (buf && n == limit) {
		*out = buf;
		*len = n;
		return true;
	}
	fprintf(stderr, "gate hook apt: out of memory reading stdin\n");
	free(buf);
	return false;
}
