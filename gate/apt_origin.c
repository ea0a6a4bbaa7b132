/* apt_origin.c - apt-origin evidence (apt_origin.h). The chain of trust:
 * keyring (policy) -> InRelease (gpgv; only the signed text it outputs is
 * read) -> SHA256 of a Packages index -> SHA256 and Size of the .deb. */
#include "apt_origin.h"
#include "gate_int.h"

#include "lazy_archive.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- deb822 fields ---- */

struct d822 {
	const char *p, *end;
};

/* Next line (without its newline) or false at the end; *bad on an
 * over-long line. */
static bool next_line(struct d822 *d, const char **l, size_t *ll, bool *bad)
{
	if (d->p >= d->end)
		return false;
	const char *nl = memchr(d->p, '\n', (size_t)(d->end - d->p));
	const char *e = nl ? nl : d->end;
	*l = d->p;
	*ll = (size_t)(e - d->p);
	if (*ll && (*l)[*ll - 1] == '\r')
		(*ll)--;
	if (*ll > GATE_APT_INDEX_MAX_LINE)
		*bad = true;
	d->p = nl ? nl + 1 : d->end;
	return true;
}

/* One field of the current stanza: key, and its value with continuation
 * lines (value spans from after "Key:" to the end of the last continuation
 * line). Returns 1 with a field, 0 at the end of the stanza (blank line or
 * end of input; *eof tells which), -1 on malformed input. */
static int next_field(struct d822 *d, const char **k, size_t *kl, const char **v, size_t *vl,
		      bool *eof)
{
	const char *l;
	size_t ll;
	bool bad = false;
	*eof = false;
	for (;;) {
		if (!next_line(d, &l, &ll, &bad)) {
			*eof = true;
			return 0;
		}
		if (bad)
			return -1;
		if (ll == 0)
			return 0;
		if (l[0] == '#')
			continue;
		break;
	}
	if (l[0] == ' ' || l[0] == '\t')
		return -1; /* continuation without a field */
	const char *colon = memchr(l, ':', ll);
	if (!colon || colon == l)
		return -1;
	*k = l;
	*kl = (size_t)(colon - l);
	*v = colon + 1;
	const char *vend = l + ll;
	/* continuation lines */
	while (d->p < d->end && (*d->p == ' ' || *d->p == '\t')) {
		if (!next_line(d, &l, &ll, &bad) || bad)
			return -1;
		vend = l + ll;
	}
	*vl = (size_t)(vend - *v);
	return 1;
}

static bool key_is(const char *k, size_t kl, const char *want)
{
	return strlen(want) == kl && strncasecmp(k, want, kl) == 0;
}

static void trim(const char **v, size_t *vl)
{
	while (*vl && isspace((unsigned char)**v)) {
		(*v)++;
		(*vl)--;
	}
	while (*vl && isspace((unsigned char)(*v)[*vl - 1]))
		(*vl)--;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*out = x;
	return true;
}

static enum gate_err dupn(char **out, const char *s, size_t n, struct gate_error *err)
{
	free(*out);
	if (!(*out = strndup(s, n)))
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	return GATE_OK;
}

bool gate_apt_parse_date(const char *s, size_t len, int64_t *out)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char buf[64], m[4] = {0}, tz[16] = {0};
	int day, year, hh, mm, ss, used = 0;
	if (len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	const char *p = buf;
	const char *comma = strchr(p, ',');
	if (comma)
		p = comma + 1;
	if (sscanf(p, " %2d %3s %4d %2d:%2d:%2d %15s%n", &day, m, &year, &hh, &mm, &ss, tz,
		   &used) != 7)
		return false;
	int mi = -1;
	for (int i = 0; i < 12; i++)
		if (strcmp(m, mon[i]) == 0)
			mi = i;
	if (mi < 0 || day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 || ss > 60 ||
	    hh < 0 || mm < 0 || ss < 0)
		return false;
	int64_t off = 0;
	if (strcmp(tz, "UTC") == 0 || strcmp(tz, "GMT") == 0 || strcmp(tz, "Z") == 0) {
		off = 0;
	} else if ((tz[0] == '+' || tz[0] == '-') && strlen(tz) == 5 &&
		   strspn(tz + 1, "0123456789") == 4) {
		off = ((tz[1] - '0') * 10 + (tz[2] - '0')) * 3600 +
		      ((tz[3] - '0') * 10 + (tz[4] - '0')) * 60;
		if (tz[0] == '-')
			off = -off;
	} else {
		return false;
	}
	struct tm tm = {.tm_year = year - 1900, .tm_mon = mi, .tm_mday = day,
			.tm_hour = hh, .tm_min = mm, .tm_sec = ss};
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (int64_t)t - off;
	return true;
}

void gate_apt_release_clear(struct gate_apt_release *r)
{
	free(r->origin);
	free(r->label);
	free(r->suite);
	free(r->codename);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	free(r->files);
	memset(r, 0, sizeof(*r));
}

/* The SHA256 field: lines "HEX SIZE PATH". */
static enum gate_err release_files(struct gate_apt_release *r, const char *v, size_t vl,
				   struct gate_error *err)
{
	struct d822 d = {v, v + vl};
	const char *l;
	size_t ll, cap = 0;
	bool bad = false;
	while (next_line(&d, &l, &ll, &bad)) {
		trim(&l, &ll);
		if (ll == 0)
			continue;
		const char *sp1 = memchr(l, ' ', ll);
		if (!sp1)
			return gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "malformed line");
		const char *rest = sp1;
		size_t rl = ll - (size_t)(rest - l);
		trim(&rest, &rl);
		const char *sp2 = memchr(rest, ' ', rl);
		if (!sp2)
			return gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "malformed line");
		const char *path = sp2;
		size_t pl = rl - (size_t)(path - rest);
		trim(&path, &pl);
		struct gate_apt_relfile f = {0};
		if ((size_t)(sp1 - l) != 64 || !gate_hex_decode(l, 64, f.sha256, 32) ||
		    !parse_u64(rest, (size_t)(sp2 - rest), &f.size) || pl == 0 ||
		    memchr(path, ' ', pl) || memchr(path, '\0', pl))
			return gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "malformed line");
		if (r->nfiles == GATE_APT_MAX_RELEASE_FILES)
			return gate_fail(err, GATE_E_TOO_LARGE, NULL, "SHA256",
					 "more than %u files", GATE_APT_MAX_RELEASE_FILES);
		if (r->nfiles == cap) {
			size_t nc = cap ? cap * 2 : 16;
			void *nf = realloc(r->files, nc * sizeof(*r->files));
			if (!nf)
				return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			r->files = nf;
			cap = nc;
		}
		if (!(f.path = strndup(path, pl)))
			return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		r->files[r->nfiles++] = f;
	}
	if (bad)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, "SHA256", "line too long");
	return GATE_OK;
}

enum gate_err gate_apt_parse_release(const char *text, size_t len, struct gate_apt_release *r,
				     struct gate_error *err)
{
	struct d822 d = {text, text + len};
	const char *k, *v;
	size_t kl, vl;
	bool eof, have_sha = false;
	int got;
	enum gate_err rc = GATE_OK;
	memset(r, 0, sizeof(*r));
	if (len > GATE_APT_MAX_RELEASE)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, "Release", "over %u bytes",
				 GATE_APT_MAX_RELEASE);
	while (rc == GATE_OK && (got = next_field(&d, &k, &kl, &v, &vl, &eof)) == 1) {
		if (key_is(k, kl, "SHA256")) {
			if (have_sha)
				rc = gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "given twice");
			else
				rc = release_files(r, v, vl, err);
			have_sha = true;
			continue;
		}
		trim(&v, &vl);
		if (key_is(k, kl, "Origin"))
			rc = dupn(&r->origin, v, vl, err);
		else if (key_is(k, kl, "Label"))
			rc = dupn(&r->label, v, vl, err);
		else if (key_is(k, kl, "Suite"))
			rc = dupn(&r->suite, v, vl, err);
		else if (key_is(k, kl, "Codename"))
			rc = dupn(&r->codename, v, vl, err);
		else if (key_is(k, kl, "Date") && !gate_apt_parse_date(v, vl, &r->date))
			rc = gate_fail(err, GATE_E_PARSE, NULL, "Date", "malformed date");
		else if (key_is(k, kl, "Valid-Until") &&
			 !gate_apt_parse_date(v, vl, &r->valid_until))
			rc = gate_fail(err, GATE_E_PARSE, NULL, "Valid-Until", "malformed date");
	}
	if (rc == GATE_OK && got < 0)
		rc = gate_fail(err, GATE_E_PARSE, NULL, "Release", "malformed field");
	if (rc == GATE_OK && !have_sha)
		rc = gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "no SHA256 field");
	if (rc != GATE_OK)
		gate_apt_release_clear(r);
	return rc;
}

/* ---- Packages ---- */

void gate_apt_index_clear(struct gate_apt_index *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		free(ix->pkgs[i].name);
		free(ix->pkgs[i].version);
		free(ix->pkgs[i].arch);
	}
	free(ix->pkgs);
	memset(ix, 0, sizeof(*ix));
}

static int cmp_pkg(const void *a, const void *b)
{
	return memcmp(((const struct gate_apt_pkg *)a)->sha256,
		      ((const struct gate_apt_pkg *)b)->sha256, 32);
}

enum gate_err gate_apt_parse_packages(const char *text, size_t len, struct gate_apt_index *ix,
				      struct gate_error *err)
{
	struct d822 d = {text, text + len};
	size_t cap = 0;
	enum gate_err rc = GATE_OK;
	memset(ix, 0, sizeof(*ix));
	if (len > GATE_APT_MAX_INDEX)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, "Packages", "over %u bytes",
				 GATE_APT_MAX_INDEX);
	for (;;) {
		struct gate_apt_pkg pk = {0};
		bool has_sha = false, has_size = false, eof = false, any = false;
		const char *k, *v;
		size_t kl, vl;
		int got;
		while (rc == GATE_OK && (got = next_field(&d, &k, &kl, &v, &vl, &eof)) == 1) {
			any = true;
			trim(&v, &vl);
			if (key_is(k, kl, "SHA256")) {
				if (vl != 64 || !gate_hex_decode(v, 64, pk.sha256, 32))
					rc = gate_fail(err, GATE_E_PARSE, NULL, "SHA256",
						       "not 64 hex digits");
				has_sha = true;
			} else if (key_is(k, kl, "Size")) {
				if (!parse_u64(v, vl, &pk.size))
					rc = gate_fail(err, GATE_E_PARSE, NULL, "Size", "not a number");
				has_size = true;
			} else if (key_is(k, kl, "Package")) {
				rc = dupn(&pk.name, v, vl, err);
			} else if (key_is(k, kl, "Version")) {
				rc = dupn(&pk.version, v, vl, err);
			} else if (key_is(k, kl, "Architecture")) {
				rc = dupn(&pk.arch, v, vl, err);
			}
		}
		if (rc == GATE_OK && got < 0)
			rc = gate_fail(err, GATE_E_PARSE, NULL, "Packages", "malformed field");
		if (rc == GATE_OK && any && has_sha && has_size) {
			if (ix->n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				void *np = realloc(ix->pkgs, nc * sizeof(*ix->pkgs));
				if (!np)
					rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
				else {
					ix->pkgs = np;
					cap = nc;
				}
			}
			if (rc == GATE_OK) {
				ix->pkgs[ix->n++] = pk;
				memset(&pk, 0, sizeof(pk));
			}
		}
		free(pk.name);
		free(pk.version);
		free(pk.arch);
		if (rc != GATE_OK) {
			gate_apt_index_clear(ix);
			return rc;
		}
		if (eof)
			break;
	}
	if (ix->n)
		qsort(ix->pkgs, ix->n, sizeof(*ix->pkgs), cmp_pkg);
	return GATE_OK;
}

const struct gate_apt_pkg *gate_apt_index_find(const struct gate_apt_index *ix,
					       const uint8_t sha256[32])
{
	struct gate_apt_pkg key;
	memcpy(key.sha256, sha256, 32);
	return ix->n ? bsearch(&key, ix->pkgs, ix->n, sizeof(*ix->pkgs), cmp_pkg) : NULL;
}

/* ---- files ---- */

struct fid {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static void fid_of(const struct stat *st, struct fid *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

static bool fid_eq(const struct fid *a, const struct fid *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static enum gate_err open_regular(const char *path, int *fd, struct fid *id,
				  struct gate_error *err)
{
	struct stat st;
	/* Links are followed: apt keeps the lists of file: sources as links
	 * to the archive, and what is read is checked against the signed
	 * InRelease (or is the InRelease, checked by gpgv) wherever it is. */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "%s: %s", path, strerror(errno));
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return gate_fail(err, GATE_E_IO, NULL, NULL, "%s: not a regular file", path);
	}
	fid_of(&st, id);
	return GATE_OK;
}

static enum gate_err read_fd(int fd, size_t cap, uint8_t **out, size_t *len, const char *path,
			     struct gate_error *err)
{
	size_t n = 0, sz = 65536;
	uint8_t *b = malloc(sz);
	if (!b)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (;;) {
		if (n == sz) {
			if (sz > cap) {
				free(b);
				return gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL,
						 "%s: over %zu bytes", path, cap);
			}
			uint8_t *nb = realloc(b, sz * 2);
			if (!nb) {
				free(b);
				return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			}
			b = nb;
			sz *= 2;
		}
		ssize_t r = read(fd, b + n, sz - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return gate_fail(err, GATE_E_IO, NULL, NULL, "%s: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > cap) {
		free(b);
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL, "%s: over %zu bytes", path, cap);
	}
	*out = b;
	*len = n;
	return GATE_OK;
}

/* .gz / .xz through libarchive's raw format; plain data as is. */
static enum gate_err decompress(const char *path, uint8_t *in, size_t inlen, uint8_t **out,
				size_t *outlen, struct gate_error *err)
{
	size_t pl = strlen(path);
	if (!((pl > 3 && strcmp(path + pl - 3, ".gz") == 0) ||
	      (pl > 3 && strcmp(path + pl - 3, ".xz") == 0))) {
		*out = in;
		*outlen = inlen;
		return GATE_OK;
	}
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	enum gate_err rc = GATE_OK;
	size_t n = 0, sz = 1u << 20;
	uint8_t *b = malloc(sz);
	if (!a || !b) {
		archive_read_free(a);
		free(b);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, in, inlen) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		rc = gate_fail(err, GATE_E_PARSE, NULL, NULL, "%s: cannot decompress", path);
		goto out;
	}
	for (;;) {
		if (n == sz) {
			if (sz >= GATE_APT_MAX_INDEX) {
				rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL,
					       "%s: over %u bytes decompressed", path,
					       GATE_APT_MAX_INDEX);
				goto out;
			}
			uint8_t *nb = realloc(b, sz * 2);
			if (!nb) {
				rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
				goto out;
			}
			b = nb;
			sz *= 2;
		}
		la_ssize_t r = archive_read_data(a, b + n, sz - n);
		if (r < 0) {
			rc = gate_fail(err, GATE_E_PARSE, NULL, NULL, "%s: cannot decompress: %s",
				       path, archive_error_string(a));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
out:
	archive_read_free(a);
	if (rc != GATE_OK) {
		free(b);
		return rc;
	}
	free(in);
	*out = b;
	*outlen = n;
	return GATE_OK;
}

/* ---- gpgv ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool append(char **buf, size_t *n, size_t *cap, size_t limit, const char *d, size_t dl)
{
	if (*n + dl > limit)
		return false;
	if (*n + dl + 1 > *cap) {
		size_t nc = (*cap ? *cap : 4096);
		while (nc < *n + dl + 1)
			nc *= 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return false;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *n, d, dl);
	*n += dl;
	(*buf)[*n] = '\0';
	return true;
}

/* Move fd above 2..3 so that dup2 onto 0, 1, 3 cannot clobber it. */
static int high_fd(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return h;
}

/* Run gpgv over the InRelease open as in_fd: the signed text on stdout
 * (*text, NUL-terminated), status lines on fd 3. fpr gets the primary key
 * fingerprint of VALIDSIG. */
static enum gate_err run_gpgv(const char *keyring, int in_fd, const char *label, char **text,
			      size_t *textlen, char fpr[65], struct gate_error *err)
{
	int op[2], sp[2];
	char *out = NULL, *st = NULL;
	size_t on = 0, oc = 0, sn = 0, sc = 0;
	enum gate_err rc = GATE_OK;
	if (lseek(in_fd, 0, SEEK_SET) != 0)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "%s: %s", label, strerror(errno));
	if (pipe2(op, O_CLOEXEC) != 0)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "pipe: %s", strerror(errno));
	if (pipe2(sp, O_CLOEXEC) != 0) {
		close(op[0]);
		close(op[1]);
		return gate_fail(err, GATE_E_IO, NULL, NULL, "pipe: %s", strerror(errno));
	}
	op[1] = high_fd(op[1]);
	sp[1] = high_fd(sp[1]);
	int infd = fcntl(in_fd, F_DUPFD_CLOEXEC, 10);
	char *const argv[] = {"gpgv", "--quiet", "--keyring", (char *)keyring, "--status-fd", "3",
			      "--output", "-", NULL};
	char *const envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "GNUPGHOME=/nonexistent", NULL};
	pid_t pid = (op[1] < 0 || sp[1] < 0 || infd < 0) ? -1 : fork();
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		if (dup2(infd, 0) < 0 || dup2(op[1], 1) < 0 || dup2(sp[1], 3) < 0 ||
		    (dn >= 0 && dup2(dn, 2) < 0))
			_exit(127);
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
		execve(GATE_APT_GPGV, argv, envp);
		_exit(127);
	}
	if (infd >= 0)
		close(infd);
	if (op[1] >= 0)
		close(op[1]);
	if (sp[1] >= 0)
		close(sp[1]);
	if (pid < 0) {
		close(op[0]);
		close(sp[0]);
		return gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "cannot run gpgv: %s",
				 strerror(errno));
	}
	int64_t deadline = now_ms() + GATE_APT_GPGV_TIMEOUT_MS;
	struct pollfd pf[2] = {{.fd = op[0], .events = POLLIN}, {.fd = sp[0], .events = POLLIN}};
	bool timed_out = false, overflow = false;
	int status = -1; /* not reaped: fails closed */
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int r = poll(pf, 2, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			char buf[65536];
			ssize_t n = read(pf[i].fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			bool ok = i == 0 ? append(&out, &on, &oc, GATE_APT_MAX_RELEASE, buf, (size_t)n)
					 : append(&st, &sn, &sc, 1u << 20, buf, (size_t)n);
			if (!ok) {
				overflow = true;
				close(pf[i].fd);
				pf[i].fd = -1;
			}
		}
		if (overflow)
			break;
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	/* reap, with the same deadline */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (timed_out || overflow || now_ms() > deadline) {
			timed_out = !overflow;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (timed_out) {
		rc = gate_fail(err, GATE_E_SIGNATURE, NULL, NULL, "%s: gpgv timed out after %d ms",
			       label, GATE_APT_GPGV_TIMEOUT_MS);
		goto out;
	}
	if (overflow) {
		rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL, "%s: over %u bytes of signed text",
			       label, GATE_APT_MAX_RELEASE);
		goto out;
	}
	/* status lines */
	bool good = false, bad = false;
	fpr[0] = '\0';
	char *save = NULL;
	for (char *line = st ? strtok_r(st, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "[GNUPG:] ", 9) != 0)
			continue;
		const char *s = line + 9;
		if (strncmp(s, "GOODSIG ", 8) == 0)
			good = true;
		else if (strncmp(s, "BADSIG ", 7) == 0 || strncmp(s, "ERRSIG ", 7) == 0 ||
			 strncmp(s, "EXPKEYSIG ", 10) == 0 || strncmp(s, "REVKEYSIG ", 10) == 0 ||
			 strncmp(s, "EXPSIG ", 7) == 0 || strncmp(s, "NO_PUBKEY ", 10) == 0)
			bad = true;
		else if (strncmp(s, "VALIDSIG ", 9) == 0) {
			/* VALIDSIG fpr date ts expire ver res pkalgo hashalgo class [primary] */
			char f[10][80];
			int k = 0;
			const char *p = s + 9;
			while (k < 10 && *p) {
				size_t l = strcspn(p, " ");
				if (l >= sizeof f[0])
					l = sizeof f[0] - 1;
				memcpy(f[k], p, l);
				f[k][l] = '\0';
				k++;
				p += strcspn(p, " ");
				p += strspn(p, " ");
			}
			const char *pf2 = k == 10 ? f[9] : k ? f[0] : "";
			size_t fl = strlen(pf2);
			if (fl >= 32 && fl <= 64 && strspn(pf2, "0123456789ABCDEFabcdef") == fl) {
				for (size_t i = 0; i <= fl; i++)
					fpr[i] = (char)tolower((unsigned char)pf2[i]);
			}
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !good || bad || !fpr[0]) {
		rc = gate_fail(err, GATE_E_SIGNATURE, NULL, NULL,
			       "%s: signature does not verify with keyring %s%s", label, keyring,
			       WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (cannot run "
										GATE_APT_GPGV ")"
									      : "");
		goto out;
	}
	*text = out ? out : strdup("");
	*textlen = on;
	out = NULL;
	if (!*text)
		rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
out:
	free(out);
	free(st);
	return rc;
}

/* ---- caches (one lock; entries live as long as the process) ---- */

#define CACHE_MAX 1024

struct rel_ent {
	char *path, *keyring;
	struct fid id, kid;
	enum gate_err rc;
	char msg[sizeof(((struct gate_error *)0)->msg)];
	char fpr[65];
	struct gate_apt_release rel;
};

struct idx_ent {
	char *path;
	struct fid id;
	enum gate_err rc;
	char msg[sizeof(((struct gate_error *)0)->msg)];
	uint8_t sha256[32];
	uint64_t size;
	struct gate_apt_index ix;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rel_ent rel_cache[CACHE_MAX];
static size_t nrel;
static struct idx_ent idx_cache[CACHE_MAX];
static size_t nidx;

static enum gate_err keyring_id(const char *keyring, struct fid *id, struct gate_error *err)
{
	struct stat st;
	if (stat(keyring, &st) != 0)
		return gate_fail(err, GATE_E_KEY, NULL, NULL, "keyring %s: %s", keyring,
				 strerror(errno));
	fid_of(&st, id);
	return GATE_OK;
}

static const struct rel_ent *get_release(const char *path, const char *keyring,
					 struct gate_error *err)
{
	struct fid id, kid;
	int fd;
	struct rel_ent *e = NULL;
	if (keyring_id(keyring, &kid, err) != GATE_OK || open_regular(path, &fd, &id, err) != GATE_OK)
		return NULL;
	for (size_t i = 0; i < nrel; i++)
		if (strcmp(rel_cache[i].path, path) == 0 && strcmp(rel_cache[i].keyring, keyring) == 0)
			e = &rel_cache[i];
	if (e && fid_eq(&e->id, &id) && fid_eq(&e->kid, &kid)) {
		close(fd);
		goto done;
	}
	if (!e) {
		if (nrel == CACHE_MAX) {
			close(fd);
			gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL, "more than %d Release files",
				  CACHE_MAX);
			return NULL;
		}
		e = &rel_cache[nrel];
		if (!(e->path = strdup(path)) || !(e->keyring = strdup(keyring))) {
			free(e->path);
			e->path = NULL;
			close(fd);
			gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			return NULL;
		}
		nrel++;
	} else {
		gate_apt_release_clear(&e->rel);
	}
	e->id = id;
	e->kid = kid;
	struct gate_error le = {0};
	char *text = NULL;
	size_t tl = 0;
	e->rc = run_gpgv(keyring, fd, path, &text, &tl, e->fpr, &le);
	close(fd);
	if (e->rc == GATE_OK) {
		e->rc = gate_apt_parse_release(text, tl, &e->rel, &le);
		if (e->rc != GATE_OK) {
			char m[sizeof le.msg];
			snprintf(m, sizeof m, "%s", le.msg);
			snprintf(le.msg, sizeof le.msg, "%.120s: %.60s%s%.120s", path, le.field,
				 le.field[0] ? ": " : "", m);
		}
	}
	free(text);
	snprintf(e->msg, sizeof e->msg, "%s", e->rc == GATE_OK ? "" : le.msg);
done:
	if (e->rc != GATE_OK) {
		gate_fail(err, e->rc, NULL, NULL, "%s", e->msg);
		return NULL;
	}
	return e;
}

static const struct idx_ent *get_index(const char *path, struct gate_error *err)
{
	struct fid id;
	int fd;
	struct idx_ent *e = NULL;
	if (open_regular(path, &fd, &id, err) != GATE_OK)
		return NULL;
	for (size_t i = 0; i < nidx; i++)
		if (strcmp(idx_cache[i].path, path) == 0)
			e = &idx_cache[i];
	if (e && fid_eq(&e->id, &id)) {
		close(fd);
		goto done;
	}
	if (!e) {
		if (nidx == CACHE_MAX) {
			close(fd);
			gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL, "more than %d Packages files",
				  CACHE_MAX);
			return NULL;
		}
		e = &idx_cache[nidx];
		if (!(e->path = strdup(path))) {
			close(fd);
			gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			return NULL;
		}
		nidx++;
	} else {
		gate_apt_index_clear(&e->ix);
	}
	e->id = id;
	struct gate_error le = {0};
	uint8_t *raw = NULL, *plain = NULL;
	size_t rawlen = 0, plainlen = 0;
	e->rc = read_fd(fd, GATE_APT_MAX_INDEX, &raw, &rawlen, path, &le);
	close(fd);
	if (e->rc == GATE_OK) {
		gate_sha256(raw, rawlen, e->sha256);
		e->size = rawlen;
		e->rc = decompress(path, raw, rawlen, &plain, &plainlen, &le);
		if (e->rc == GATE_OK) {
			e->rc = gate_apt_parse_packages((const char *)plain, plainlen, &e->ix, &le);
			free(plain);
		} else {
			free(raw);
		}
	}
	snprintf(e->msg, sizeof e->msg, "%s", e->rc == GATE_OK ? "" : le.msg);
done:
	if (e->rc != GATE_OK) {
		gate_fail(err, e->rc, NULL, NULL, "%s", e->msg);
		return NULL;
	}
	return e;
}

/* ---- the decision ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* COMPONENT/binary-ARCH/Packages[.gz|.xz]: the component, or false. */
static bool packages_path(const char *path, char *comp, size_t cap)
{
	const char *b = strstr(path, "/binary-");
	const char *base = strrchr(path, '/');
	if (!b || !base || b == path)
		return false;
	base++;
	if (strcmp(base, "Packages") != 0 && strcmp(base, "Packages.gz") != 0 &&
	    strcmp(base, "Packages.xz") != 0)
		return false;
	if ((size_t)(b - path) >= cap || strstr(path, "..") || path[0] == '/')
		return false;
	memcpy(comp, path, (size_t)(b - path));
	comp[b - path] = '\0';
	return true;
}

struct best {
	int rank;
	enum gate_err rc;
	char msg[sizeof(((struct gate_error *)0)->msg)];
};

static void note(struct best *b, int rank, enum gate_err rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void note(struct best *b, int rank, enum gate_err rc, const char *fmt, ...)
{
	if (rank <= b->rank)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->msg, sizeof b->msg, fmt, ap);
	va_end(ap);
	b->rank = rank;
	b->rc = rc;
}

static bool add_ext(struct gate_facts *f, const char *name, const char *v)
{
	if (!v || f->n_exts >= GATE_MAX_FACT_EXTS)
		return true;
	if (!(f->exts[f->n_exts].value = strdup(v)))
		return false;
	f->exts[f->n_exts++].name = name;
	return true;
}

static enum gate_err make_facts(const struct gate_policy_apt *a, const struct rel_ent *re,
				const char *comp, const struct gate_apt_pkg *pk,
				struct gate_facts **out, struct gate_error *err)
{
	struct gate_facts *f = calloc(1, sizeof(*f));
	if (!f)
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	f->kind = GATE_SIGNER_APT;
	snprintf(f->fingerprint, sizeof f->fingerprint, "%s", re->fpr);
	snprintf(f->key_id, sizeof f->key_id, "%s", re->fpr);
	gate_hex_encode(pk->sha256, 32, f->digest);
	if (!(f->anchor_name = strdup(a->name)) ||
	    !add_ext(f, "apt_origin", re->rel.origin) ||
	    !add_ext(f, "apt_suite", re->rel.suite ? re->rel.suite : re->rel.codename) ||
	    !add_ext(f, "apt_component", comp) || !add_ext(f, "apt_package", pk->name) ||
	    !add_ext(f, "apt_version", pk->version) || !add_ext(f, "apt_architecture", pk->arch)) {
		gate_facts_free(f);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	*out = f;
	return GATE_OK;
}

static void fmt_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%lld", (long long)t);
}

static enum gate_err verify_locked(const struct gate_policy_apt *a, const uint8_t sha256[32],
				   uint64_t size, int64_t now, struct gate_facts **out,
				   struct gate_error *err)
{
	const char *dir = a->lists ? a->lists : GATE_APT_DEFAULT_LISTS;
	struct best best = {0};
	char **names = NULL;
	size_t nn = 0;
	enum gate_err rc = GATE_OK;
	bool done = false;
	DIR *d = opendir(dir);
	if (!d)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "archive '%s': %s: %s", a->name, dir,
				 strerror(errno));
	if (!(names = calloc(GATE_APT_MAX_INRELEASE, sizeof(*names)))) {
		closedir(d);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	for (struct dirent *de; (de = readdir(d)) && nn < GATE_APT_MAX_INRELEASE;) {
		size_t l = strlen(de->d_name);
		if (l >= 9 && strcmp(de->d_name + l - 9, "InRelease") == 0 &&
		    !(names[nn++] = strdup(de->d_name)))
			nn--;
	}
	closedir(d);
	qsort(names, nn, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nn && !done; i++) {
		char path[4096];
		struct gate_error le = {0};
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		const struct rel_ent *re = get_release(path, a->keyring, &le);
		if (!re) {
			note(&best, 2, le.code ? le.code : GATE_E_SIGNATURE, "%s", le.msg);
			continue;
		}
		const struct gate_apt_release *r = &re->rel;
		if (a->origin && !(r->origin && strcmp(a->origin, r->origin) == 0)) {
			note(&best, 1, GATE_E_IDENTITY, "%s: origin '%s', the policy wants '%s'", path,
			     r->origin ? r->origin : "", a->origin);
			continue;
		}
		if (a->suite && !(r->suite && strcmp(a->suite, r->suite) == 0) &&
		    !(r->codename && strcmp(a->suite, r->codename) == 0)) {
			note(&best, 1, GATE_E_IDENTITY, "%s: suite '%s', the policy wants '%s'", path,
			     r->suite ? r->suite : "", a->suite);
			continue;
		}
		size_t prefix = strlen(names[i]) - 9;
		for (size_t k = 0; k < r->nfiles && !done; k++) {
			const struct gate_apt_relfile *rf = &r->files[k];
			char comp[256], local[4096];
			if (!packages_path(rf->path, comp, sizeof comp))
				continue;
			if (a->component && strcmp(a->component, comp) != 0)
				continue;
			int w = snprintf(local, sizeof local, "%s/%.*s%s", dir, (int)prefix, names[i],
					 rf->path);
			if (w < 0 || (size_t)w >= sizeof local)
				continue;
			for (char *p = local + strlen(dir) + 1 + prefix; *p; p++)
				if (*p == '/')
					*p = '_';
			if (access(local, F_OK) != 0)
				continue;
			const struct idx_ent *ix = get_index(local, &le);
			if (!ix) {
				note(&best, 3, le.code, "%s", le.msg);
				continue;
			}
			if (ix->size != rf->size || memcmp(ix->sha256, rf->sha256, 32) != 0) {
				note(&best, 3, GATE_E_DIGEST,
				     "%s does not match its SHA256 in %s (tampered or out of date)",
				     local, path);
				continue;
			}
			const struct gate_apt_pkg *pk = gate_apt_index_find(&ix->ix, sha256);
			if (!pk)
				continue;
			if (pk->size != size) {
				note(&best, 4, GATE_E_DIGEST,
				     "%s lists this SHA-256 with size %llu, the file has %llu", local,
				     (unsigned long long)pk->size, (unsigned long long)size);
				continue;
			}
			if (r->valid_until && now > r->valid_until) {
				char when[64];
				fmt_time(r->valid_until, when, sizeof when);
				note(&best, 5, GATE_E_EXPIRED, "Release is stale since %s (%s)", when,
				     path);
				continue;
			}
			rc = make_facts(a, re, comp, pk, out, err);
			done = true;
		}
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	if (done)
		return rc;
	if (best.rank)
		return gate_fail(err, best.rc, NULL, "apt", "archive '%s': %s", a->name, best.msg);
	char hex[65];
	gate_hex_encode(sha256, 32, hex);
	return gate_fail(err, GATE_E_DIGEST, NULL, "apt",
			 "archive '%s': sha256 %s is not listed in a verified Packages index of %s",
			 a->name, hex, dir);
}

enum gate_err gate_apt_origin_verify(const struct gate_policy *p, size_t archive,
				     const uint8_t sha256[32], uint64_t size, int64_t now,
				     struct gate_facts **out, struct gate_error *err)
{
	*out = NULL;
	if (archive >= p->napts)
		return gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "no such archive");
	pthread_mutex_lock(&cache_lock);
	enum gate_err rc = verify_locked(&p->apts[archive], sha256, size, now, out, err);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}
