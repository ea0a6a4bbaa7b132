/* mountinfo.c - see mountinfo.h. Every field is cut from the line by
 * length, never by a terminator the input might lack. */
#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cur {
	const char *p, *end;
};

/* The next space-separated field; false at the end of the line. */
static bool field(struct cur *c, const char **f, size_t *flen)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	if (c->p >= c->end)
		return false;
	*f = c->p;
	while (c->p < c->end && *c->p != ' ')
		c->p++;
	*flen = (size_t)(c->p - *f);
	return true;
}

static bool num(const char *f, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (f[i] < '0' || f[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(f[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool oct3(const char *s, unsigned char *out)
{
	unsigned v = 0;
	for (int i = 0; i < 3; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	if (v > 255 || v == 0)
		return false;
	*out = (unsigned char)v;
	return true;
}

/* Unescape into out (cap bytes with the NUL); false when it does not fit
 * or an escape is malformed. */
static bool unescape(const char *f, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)f[i];
		if (ch == '\\') {
			if (len - i < 4 || !oct3(f + i + 1, &ch))
				return false;
			i += 3;
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return true;
}

static bool has_opt(const char *f, size_t len, const char *opt)
{
	size_t ol = strlen(opt);
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && f[j] != ',')
			j++;
		if (j - i == ol && memcmp(f + i, opt, ol) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

bool gated_mountinfo_line(const char *line, size_t len, struct gated_mount *m)
{
	struct cur c = {line, line + len};
	const char *f, *colon;
	size_t fl;
	unsigned long v, mj, mn;
	memset(m, 0, sizeof(*m));
	if (!field(&c, &f, &fl) || !num(f, fl, UINT32_MAX, &v))
		return false;
	m->id = (uint32_t)v;
	if (!field(&c, &f, &fl) || !num(f, fl, UINT32_MAX, &v))
		return false;
	m->parent = (uint32_t)v;
	if (!field(&c, &f, &fl) || !(colon = memchr(f, ':', fl)) ||
	    !num(f, (size_t)(colon - f), 0xfffff, &mj) ||
	    !num(colon + 1, fl - (size_t)(colon - f) - 1, 0xfffff, &mn))
		return false;
	m->major = (unsigned)mj;
	m->minor = (unsigned)mn;
	if (!field(&c, &f, &fl)) /* root within the filesystem: not needed */
		return false;
	if (!field(&c, &f, &fl) || !unescape(f, fl, m->point, sizeof m->point) ||
	    m->point[0] != '/')
		return false;
	if (!field(&c, &f, &fl))
		return false;
	m->noexec = has_opt(f, fl, "noexec");
	for (;;) { /* optional fields up to the lone "-" */
		if (!field(&c, &f, &fl))
			return false;
		if (fl == 1 && f[0] == '-')
			break;
	}
	if (!field(&c, &f, &fl) || !unescape(f, fl, m->fstype, sizeof m->fstype))
		return false;
	return true; /* SOURCE and SUPER-OPTS: not needed */
}

long gated_mountinfo_parse(const char *text, size_t len, struct gated_mount **out, size_t *n)
{
	struct gated_mount *v = NULL;
	size_t cnt = 0, cap = 0;
	long line = 0;
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (text + i)) : len - i;
		line++;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct gated_mount *nv;
			if (cap >= GATED_MOUNTINFO_MAX_MOUNTS)
				goto fail;
			if (nc > GATED_MOUNTINFO_MAX_MOUNTS)
				nc = GATED_MOUNTINFO_MAX_MOUNTS;
			if (!(nv = realloc(v, nc * sizeof(*v))))
				goto fail;
			v = nv;
			cap = nc;
		}
		if (ll > 0 && !gated_mountinfo_line(text + i, ll, &v[cnt])) {
			free(v);
			return line;
		}
		if (ll > 0)
			cnt++;
		i += ll + 1;
	}
	*out = v;
	*n = cnt;
	return 0;
fail:
	free(v);
	return -1;
}

long gated_mountinfo_read(const char *path, struct gated_mount **out, size_t *n)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf = NULL;
	long rc = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*out = NULL;
	*n = 0;
	if (fd < 0)
		return -1;
	for (;;) {
		if (!buf || len == cap) {
			char *nb;
			if (buf && cap >= GATED_MOUNTINFO_MAX_BYTES) {
				errno = EFBIG;
				goto out;
			}
			if (buf)
				cap *= 2;
			if (!(nb = realloc(buf, cap)))
				goto out;
			buf = nb;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	rc = gated_mountinfo_parse(buf, len, out, n);
	if (rc < 0)
		errno = ENOMEM;
out:
	free(buf);
	close(fd);
	return rc;
}

bool gated_sysctl_int(const char *text, size_t len, long *out)
{
	size_t i = 0, digits = 0;
	bool neg = false;
	long v = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (i < len && text[i] == '-') {
		neg = true;
		i++;
	}
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
		if (++digits > 18)
			return false;
		v = v * 10 + (text[i] - '0');
	}
	if (digits == 0)
		return false;
	for (; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n')
			return false;
	*out = neg ? -v : v;
	return true;
}
