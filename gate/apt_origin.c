/* apt_origin.c - apt-origin evidence (apt_origin.h). The chain of trust:
 * keyring (policy) -> InRelease (gpgv; only the signed text it outputs is
 * read), or Release + Release.gpg (read once; gpgv checks the bytes that
 * are then parsed) -> SHA256 of a Packages index -> SHA256 and Size of the
 * .deb, or its name, version and architecture. */
#include "apt_origin.h"
#include "deb822.h"
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- deb822 fields ---- */

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
	const char *q = v, *l;
	size_t ll, cap = 0;
	while (gate_d822_value_line(&q, v + vl, &l, &ll)) {
		gate_d822_trim(&l, &ll);
		if (ll == 0)
			continue;
		const char *sp1 = memchr(l, ' ', ll);
		if (!sp1)
			return gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "malformed line");
		const char *rest = sp1;
		size_t rl = ll - (size_t)(rest - l);
		gate_d822_trim(&rest, &rl);
		const char *sp2 = memchr(rest, ' ', rl);
		if (!sp2)
			return gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "malformed line");
		const char *path = sp2;
		size_t pl = rl - (size_t)(path - rest);
		gate_d822_trim(&path, &pl);
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
	return GATE_OK; /* lines are bounded: the field reader refused over-long ones */
}

enum gate_err gate_apt_parse_release(const char *text, size_t len, struct gate_apt_release *r,
				     struct gate_error *err)
{
	struct gate_d822 d = {text, text + len};
	const char *k, *v;
	size_t kl, vl;
	bool eof, have_sha = false;
	int got;
	enum gate_err rc = GATE_OK;
	memset(r, 0, sizeof(*r));
	if (len > GATE_APT_MAX_RELEASE)
		return gate_fail(err, GATE_E_TOO_LARGE, NULL, "Release", "over %u bytes",
				 GATE_APT_MAX_RELEASE);
	while (rc == GATE_OK && (got = gate_d822_field(&d, &k, &kl, &v, &vl, &eof)) == 1) {
		if (gate_d822_key_is(k, kl, "SHA256")) {
			if (have_sha)
				rc = gate_fail(err, GATE_E_PARSE, NULL, "SHA256", "given twice");
			else
				rc = release_files(r, v, vl, err);
			have_sha = true;
			continue;
		}
		gate_d822_trim(&v, &vl);
		if (gate_d822_key_is(k, kl, "Origin"))
			rc = dupn(&r->origin, v, vl, err);
		else if (gate_d822_key_is(k, kl, "Label"))
			rc = dupn(&r->label, v, vl, err);
		else if (gate_d822_key_is(k, kl, "Suite"))
			rc = dupn(&r->suite, v, vl, err);
		else if (gate_d822_key_is(k, kl, "Codename"))
			rc = dupn(&r->codename, v, vl, err);
		else if (gate_d822_key_is(k, kl, "Date") && !gate_apt_parse_date(v, vl, &r->date))
			rc = gate_fail(err, GATE_E_PARSE, NULL, "Date", "malformed date");
		else if (gate_d822_key_is(k, kl, "Valid-Until") &&
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
	free(ix->byname);
	memset(ix, 0, sizeof(*ix));
}

static int cmp_pkg(const void *a, const void *b)
{
	return memcmp(((const struct gate_apt_pkg *)a)->sha256,
		      ((const struct gate_apt_pkg *)b)->sha256, 32);
}

static int cmp_ident(const char *name, const char *version, const char *arch,
		     const struct gate_apt_pkg *p)
{
	int c = strcmp(name, p->name);
	if (!c)
		c = strcmp(version, p->version);
	if (!c)
		c = strcmp(arch, p->arch);
	return c;
}

static int cmp_byname(const void *a, const void *b)
{
	const struct gate_apt_pkg *x = *(struct gate_apt_pkg *const *)a;
	const struct gate_apt_pkg *y = *(struct gate_apt_pkg *const *)b;
	int c = cmp_ident(x->name, x->version, x->arch, y);
	return c ? c : memcmp(x->sha256, y->sha256, 32);
}

/* ix->byname over the (sorted) entries that have a name, version and arch. */
static enum gate_err index_byname(struct gate_apt_index *ix, struct gate_error *err)
{
	if (!ix->n)
		return GATE_OK;
	if (!(ix->byname = malloc(ix->n * sizeof(*ix->byname))))
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	for (size_t i = 0; i < ix->n; i++)
		if (ix->pkgs[i].name && ix->pkgs[i].version && ix->pkgs[i].arch)
			ix->byname[ix->nbyname++] = &ix->pkgs[i];
	qsort(ix->byname, ix->nbyname, sizeof(*ix->byname), cmp_byname);
	return GATE_OK;
}

enum gate_err gate_apt_parse_packages(const char *text, size_t len, struct gate_apt_index *ix,
				      struct gate_error *err)
{
	struct gate_d822 d = {text, text + len};
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
		while (rc == GATE_OK && (got = gate_d822_field(&d, &k, &kl, &v, &vl, &eof)) == 1) {
			any = true;
			gate_d822_trim(&v, &vl);
			if (gate_d822_key_is(k, kl, "SHA256")) {
				if (vl != 64 || !gate_hex_decode(v, 64, pk.sha256, 32))
					rc = gate_fail(err, GATE_E_PARSE, NULL, "SHA256",
						       "not 64 hex digits");
				has_sha = true;
			} else if (gate_d822_key_is(k, kl, "Size")) {
				if (!parse_u64(v, vl, &pk.size))
					rc = gate_fail(err, GATE_E_PARSE, NULL, "Size", "not a number");
				has_size = true;
			} else if (gate_d822_key_is(k, kl, "Package")) {
				rc = dupn(&pk.name, v, vl, err);
			} else if (gate_d822_key_is(k, kl, "Version")) {
				rc = dupn(&pk.version, v, vl, err);
			} else if (gate_d822_key_is(k, kl, "Architecture")) {
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
	rc = index_byname(ix, err);
	if (rc != GATE_OK)
		gate_apt_index_clear(ix);
	return rc;
}

const struct gate_apt_pkg *gate_apt_index_find(const struct gate_apt_index *ix,
					       const uint8_t sha256[32])
{
	struct gate_apt_pkg key;
	memcpy(key.sha256, sha256, 32);
	return ix->n ? bsearch(&key, ix->pkgs, ix->n, sizeof(*ix->pkgs), cmp_pkg) : NULL;
}

struct gate_apt_pkg *const *gate_apt_index_find_version(const struct gate_apt_index *ix,
							const char *name, const char *version,
							const char *arch, size_t *n)
{
	size_t lo = 0, hi = ix->nbyname;
	*n = 0;
	/* the first entry not below the key */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_ident(name, version, arch, ix->byname[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + *n < ix->nbyname && cmp_ident(name, version, arch, ix->byname[lo + *n]) == 0)
		(*n)++;
	return *n ? &ix->byname[lo] : NULL;
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

static bool ends_with(const char *s, const char *suffix)
{
	size_t sl = strlen(s), xl = strlen(suffix);
	return sl > xl && strcmp(s + sl - xl, suffix) == 0;
}

/* .gz / .xz (as in the archive) and .lz4 / .zst (apt's own recompressed
 * copies, Acquire::GzipIndexes) through libarchive's raw format; plain data
 * as is. */
static enum gate_err decompress(const char *path, uint8_t *in, size_t inlen, uint8_t **out,
				size_t *outlen, struct gate_error *err)
{
	if (!ends_with(path, ".gz") && !ends_with(path, ".xz") && !ends_with(path, ".lz4") &&
	    !ends_with(path, ".zst")) {
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
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_zstd(a);
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

/* Move fd above 0..4 so that dup2 onto 0, 1, 3, 4 cannot clobber it. */
static int high_fd(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return h;
}

/* The child: fds 0 (data), 1 (signed text), 3 (status), 4 (signature) and
 * 2 on /dev/null, nothing else; its own process group, so that a kill
 * reaches whatever it started. Only async-signal-safe calls. */
static void exec_verifier(const char *prog, char *const argv[], int infd, int outfd, int stfd,
			  int sigfd)
{
	char *const envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "GNUPGHOME=/nonexistent", NULL};
	setpgid(0, 0);
	/* /dev/null first: it may land on 3 or 4, which the dup2s below
	 * then replace */
	int dn = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (dn < 0 || dup2(dn, 2) < 0 || dup2(infd, 0) < 0 || dup2(outfd, 1) < 0 ||
	    dup2(stfd, 3) < 0 || (sigfd >= 0 && dup2(sigfd, 4) < 0))
		_exit(127);
	for (int fd = sigfd >= 0 ? 5 : 4; fd < 1024; fd++)
		close(fd);
	execve(prog, argv, envp);
	_exit(127);
}

/* Kill the child and its group, and reap it (blocking: SIGKILL is sure). */
static void kill_reap(pid_t pid, int *status)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* Read the child's stdout and status fd until both close, an output is
 * over its cap (*overflow: its name) or the deadline passes (*timed_out). */
static void collect(int op, int sp, int64_t deadline, char **out, size_t *on, char **st,
		    size_t *sn, bool *timed_out, const char **overflow)
{
	struct pollfd pf[2] = {{.fd = op, .events = POLLIN}, {.fd = sp, .events = POLLIN}};
	size_t oc = 0, sc = 0;
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			*timed_out = true;
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
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			size_t m = (size_t)n;
			bool ok = i == 0 ? append(out, on, &oc, GATE_APT_MAX_RELEASE, buf, m)
					 : append(st, sn, &sc, GATE_APT_MAX_STATUS, buf, m);
			if (!ok) {
				*overflow = i == 0 ? "text" : "status lines";
				break;
			}
		}
		if (*overflow)
			break;
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
}

/* The primary-key fingerprint of a VALIDSIG line (fpr date ts expire ver
 * res pkalgo hashalgo class [primary]) into fpr, lowercase; false if none. */
static bool validsig_fpr(const char *s, char fpr[65])
{
	char f[10][80];
	int k = 0;
	while (k < 10 && *s) {
		size_t l = strcspn(s, " ");
		if (l >= sizeof f[0])
			l = sizeof f[0] - 1;
		memcpy(f[k], s, l);
		f[k][l] = '\0';
		k++;
		s += strcspn(s, " ");
		s += strspn(s, " ");
	}
	const char *pf = k == 10 ? f[9] : k ? f[0] : "";
	size_t fl = strlen(pf);
	if (fl < 32 || fl > 64 || strspn(pf, "0123456789ABCDEFabcdef") != fl)
		return false;
	for (size_t i = 0; i <= fl; i++)
		fpr[i] = (char)tolower((unsigned char)pf[i]);
	return true;
}

/* gpgv's status lines, one block per signature (NEWSIG). A signature is
 * good with GOODSIG and VALIDSIG (with a fingerprint) and nothing else
 * said of it. Returns 0 when some signature is good and none is BADSIG
 * (archives sign with several keys and a keyring may hold only some of
 * them: the others say NO_PUBKEY, as apt also accepts), 1 with a BADSIG,
 * 2 without a good signature; why says which. fpr: the good signature's
 * primary key. */
static int read_status(char *st, char fpr[65], char *why, size_t cap)
{
	bool any_good = false, badsig = false, good = false, valid = false, spoiled = false;
	char cur[65] = "";
	char *save = NULL;
	why[0] = '\0';
	fpr[0] = '\0';
	for (char *line = st ? strtok_r(st, "\n", &save) : NULL;; line = strtok_r(NULL, "\n", &save)) {
		const char *s = line && strncmp(line, "[GNUPG:] ", 9) == 0 ? line + 9 : NULL;
		if (!line || (s && strncmp(s, "NEWSIG", 6) == 0)) {
			/* end of a signature's block */
			if (good && valid && !spoiled && !any_good) {
				memcpy(fpr, cur, sizeof cur);
				any_good = true;
			}
			good = valid = spoiled = false;
			cur[0] = '\0';
			if (!line)
				break;
			continue;
		}
		if (!s)
			continue;
		if (strncmp(s, "GOODSIG ", 8) == 0) {
			good = true;
		} else if (strncmp(s, "VALIDSIG ", 9) == 0) {
			valid = validsig_fpr(s + 9, cur);
		} else if (strncmp(s, "BADSIG ", 7) == 0 || strncmp(s, "ERRSIG ", 7) == 0 ||
			   strncmp(s, "EXPKEYSIG ", 10) == 0 || strncmp(s, "REVKEYSIG ", 10) == 0 ||
			   strncmp(s, "EXPSIG ", 7) == 0 || strncmp(s, "NO_PUBKEY ", 10) == 0) {
			spoiled = true;
			badsig |= strncmp(s, "BADSIG ", 7) == 0;
			/* BADSIG says most, NO_PUBKEY (with ERRSIG) more than ERRSIG */
			if (!why[0] || strncmp(s, "BADSIG ", 7) == 0 ||
			    (strncmp(s, "NO_PUBKEY ", 10) == 0 && strncmp(why, "BADSIG", 6) != 0))
				snprintf(why, cap, "%.*s", (int)strcspn(s, " "), s);
		}
	}
	if (badsig) {
		fpr[0] = '\0';
		return 1;
	}
	if (!any_good) {
		if (!why[0])
			snprintf(why, cap, "no good signature (GOODSIG and VALIDSIG)");
		return 2;
	}
	return 0;
}

enum gate_err gate_apt_run_verifier(const char *prog, unsigned timeout_ms, const char *keyring,
				    int data_fd, int sig_fd, const char *label, char **text,
				    size_t *textlen, char fpr[65], struct gate_error *err)
{
	int op[2], sp[2];
	char *out = NULL, *st = NULL;
	size_t on = 0, sn = 0;
	enum gate_err rc = GATE_OK;
	bool detached = sig_fd >= 0;
	fpr[0] = '\0';
	if (text) {
		*text = NULL;
		*textlen = 0;
	}
	if (!detached && !text)
		return gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "%s: nowhere for the text",
				 label);
	if (timeout_ms == 0 || timeout_ms > INT32_MAX)
		return gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "%s: bad timeout", label);
	if (lseek(data_fd, 0, SEEK_SET) != 0 || (detached && lseek(sig_fd, 0, SEEK_SET) != 0))
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
	int infd = fcntl(data_fd, F_DUPFD_CLOEXEC, 10);
	int sigfd = detached ? fcntl(sig_fd, F_DUPFD_CLOEXEC, 10) : -1;
	/* Fixed but for the keyring. Detached: the signature first (fd 4),
	 * then the data, "-": stdin. gpgv refuses a signature file that is
	 * not a detached signature when data files are given. */
	char *const argv_clear[] = {"gpgv", "--quiet", "--keyring", (char *)keyring,
				    "--status-fd", "3", "--output", "-", NULL};
	char *const argv_detached[] = {"gpgv", "--quiet", "--keyring", (char *)keyring,
				       "--status-fd", "3", "--", "/dev/fd/4", "-", NULL};
	pid_t pid = (op[1] < 0 || sp[1] < 0 || infd < 0 || (detached && sigfd < 0)) ? -1 : fork();
	if (pid == 0)
		exec_verifier(prog, detached ? argv_detached : argv_clear, infd, op[1], sp[1],
			      sigfd);
	int fork_errno = errno;
	if (pid > 0)
		setpgid(pid, pid); /* also here: no window where a kill misses the group */
	if (infd >= 0)
		close(infd);
	if (sigfd >= 0)
		close(sigfd);
	if (op[1] >= 0)
		close(op[1]);
	if (sp[1] >= 0)
		close(sp[1]);
	if (pid < 0) {
		close(op[0]);
		close(sp[0]);
		return gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "cannot run %s: %s", prog,
				 strerror(fork_errno));
	}
	int64_t deadline = now_ms() + timeout_ms;
	bool timed_out = false;
	const char *overflow = NULL;
	int status = -1; /* not reaped: fails closed */
	collect(op[0], sp[0], deadline, &out, &on, &st, &sn, &timed_out, &overflow);
	/* reap, with the same deadline */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (timed_out || overflow || now_ms() >= deadline) {
			timed_out = !overflow;
			kill_reap(pid, &status);
			break;
		}
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (timed_out) {
		rc = gate_fail(err, GATE_E_SIGNATURE, NULL, NULL, "%s: %s timed out after %u ms",
			       label, prog, timeout_ms);
		goto out;
	}
	if (overflow) {
		rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL,
			       "%s: %s wrote over %u bytes of %s", label, prog,
			       overflow[0] == 't' ? GATE_APT_MAX_RELEASE : GATE_APT_MAX_STATUS,
			       overflow);
		goto out;
	}
	char why[64];
	int res = read_status(st, fpr, why, sizeof why);
	/* gpgv exits 2 when one of several signatures cannot be checked
	 * (NO_PUBKEY); read_status decides then. 1 is a bad signature. */
	bool exit_ok = WIFEXITED(status) &&
		       (WEXITSTATUS(status) == 0 || (WEXITSTATUS(status) == 2 && res == 0));
	if (!exit_ok || res) {
		char how[96];
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			snprintf(how, sizeof how, "cannot run %s", prog);
		else if (!WIFEXITED(status))
			snprintf(how, sizeof how, "killed by a signal");
		else if (res != 0 && WEXITSTATUS(status) <= 2) /* gpgv's own verdicts */
			snprintf(how, sizeof how, "%s", why);
		else
			snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
		fpr[0] = '\0';
		rc = gate_fail(err, GATE_E_SIGNATURE, NULL, NULL,
			       "%s: signature does not verify with keyring %s (%s)", label, keyring,
			       how);
		goto out;
	}
	if (text) {
		*text = out ? out : strdup("");
		*textlen = on;
		out = NULL;
		if (!*text)
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
out:
	free(out);
	free(st);
	return rc;
}

/* ---- caches (one lock; entries live as long as the process) ---- */

#define CACHE_MAX 1024

/* path: an InRelease, or a Release (detached: its signature is path.gpg) */
struct rel_ent {
	char *path, *keyring;
	bool detached;
	struct fid id, sid, kid; /* sid: of the Release.gpg */
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
	uint8_t sha256[32]; /* of the file as it is */
	uint64_t size;
	uint8_t plain_sha256[32]; /* of the index text, decompressed */
	uint64_t plain_size;
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

/* A sealed in-memory file holding b: what gpgv reads are the bytes read. */
static int mem_file(const char *name, const void *b, size_t n, struct gate_error *err)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		gate_fail(err, GATE_E_IO, NULL, NULL, "memfd_create: %s", strerror(errno));
		return -1;
	}
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, (const uint8_t *)b + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			gate_fail(err, GATE_E_IO, NULL, NULL, "memfd: %s",
				  w < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

/* Verify and parse the InRelease open as fd: the signed text gpgv writes. */
static enum gate_err load_inrelease(struct rel_ent *e, int fd, struct gate_error *le)
{
	char *text = NULL;
	size_t tl = 0;
	enum gate_err rc = gate_apt_run_verifier(GATE_APT_GPGV, GATE_APT_GPGV_TIMEOUT_MS,
						 e->keyring, fd, -1, e->path, &text, &tl, e->fpr,
						 le);
	if (rc == GATE_OK)
		rc = gate_apt_parse_release(text, tl, &e->rel, le);
	free(text);
	return rc;
}

/* Verify and parse the Release open as fd with its detached signature
 * open as sfd (sigpath): both are read once, gpgv gets those bytes, and
 * the same in-memory copy of the Release is what is parsed. */
static enum gate_err load_release(struct rel_ent *e, int fd, int sfd, const char *sigpath,
				  struct gate_error *le)
{
	uint8_t *rb = NULL, *sb = NULL;
	size_t rl = 0, sl = 0;
	int mfd = -1, msfd = -1;
	enum gate_err rc = read_fd(fd, GATE_APT_MAX_RELEASE, &rb, &rl, e->path, le);
	if (rc == GATE_OK)
		rc = read_fd(sfd, GATE_APT_MAX_SIG, &sb, &sl, sigpath, le);
	if (rc == GATE_OK && ((mfd = mem_file("Release", rb, rl, le)) < 0 ||
			      (msfd = mem_file("Release.gpg", sb, sl, le)) < 0))
		rc = le->code;
	if (rc == GATE_OK)
		rc = gate_apt_run_verifier(GATE_APT_GPGV, GATE_APT_GPGV_TIMEOUT_MS, e->keyring, mfd,
					   msfd, sigpath, NULL, NULL, e->fpr, le);
	if (rc == GATE_OK)
		rc = gate_apt_parse_release((const char *)rb, rl, &e->rel, le);
	if (mfd >= 0)
		close(mfd);
	if (msfd >= 0)
		close(msfd);
	free(rb);
	free(sb);
	return rc;
}

/* The verified Release at path: an InRelease, or (detached) a Release
 * with path.gpg beside it. Cached by the identity of the files and of the
 * keyring; a failure is cached too. */
static const struct rel_ent *get_release(const char *path, bool detached, const char *keyring,
					 struct gate_error *err)
{
	struct fid id, sid = {0}, kid;
	int fd, sfd = -1;
	char sigpath[4096];
	struct rel_ent *e = NULL;
	if (keyring_id(keyring, &kid, err) != GATE_OK)
		return NULL;
	if (detached) {
		int w = snprintf(sigpath, sizeof sigpath, "%s.gpg", path);
		if (w < 0 || (size_t)w >= sizeof sigpath) {
			gate_fail(err, GATE_E_IO, NULL, NULL, "%.200s: name too long", path);
			return NULL;
		}
		if (access(sigpath, F_OK) != 0 && errno == ENOENT) {
			gate_fail(err, GATE_E_SIGNATURE, NULL, NULL,
				  "%s is not signed: no InRelease and no Release.gpg beside it",
				  path);
			return NULL;
		}
		if (open_regular(sigpath, &sfd, &sid, err) != GATE_OK)
			return NULL;
	}
	if (open_regular(path, &fd, &id, err) != GATE_OK) {
		if (sfd >= 0)
			close(sfd);
		return NULL;
	}
	for (size_t i = 0; i < nrel; i++)
		if (strcmp(rel_cache[i].path, path) == 0 && strcmp(rel_cache[i].keyring, keyring) == 0)
			e = &rel_cache[i];
	if (e && e->detached == detached && fid_eq(&e->id, &id) && fid_eq(&e->sid, &sid) &&
	    fid_eq(&e->kid, &kid))
		goto done;
	if (!e) {
		if (nrel == CACHE_MAX) {
			gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL, "more than %d Release files",
				  CACHE_MAX);
			e = NULL;
			goto fail;
		}
		e = &rel_cache[nrel];
		if (!(e->path = strdup(path)) || !(e->keyring = strdup(keyring))) {
			free(e->path);
			e->path = NULL;
			gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			goto fail;
		}
		nrel++;
	} else {
		gate_apt_release_clear(&e->rel);
	}
	e->id = id;
	e->sid = sid;
	e->kid = kid;
	e->detached = detached;
	struct gate_error le = {0};
	e->rc = detached ? load_release(e, fd, sfd, sigpath, &le) : load_inrelease(e, fd, &le);
	if (e->rc != GATE_OK && le.field[0]) {
		/* a parse error: name the file */
		char m[sizeof le.msg];
		snprintf(m, sizeof m, "%s", le.msg);
		snprintf(le.msg, sizeof le.msg, "%.120s: %.60s: %.120s", path, le.field, m);
	}
	snprintf(e->msg, sizeof e->msg, "%s", e->rc == GATE_OK ? "" : le.msg);
	if (e->rc != GATE_OK)
		e->fpr[0] = '\0';
done:
	close(fd);
	if (sfd >= 0)
		close(sfd);
	if (e->rc != GATE_OK) {
		gate_fail(err, e->rc, NULL, NULL, "%s", e->msg);
		return NULL;
	}
	return e;
fail:
	close(fd);
	if (sfd >= 0)
		close(sfd);
	return NULL;
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
			gate_sha256(plain, plainlen, e->plain_sha256);
			e->plain_size = plainlen;
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

/* Is path (as a Release lists it) a Packages index, and of which
 * component? COMPONENT/binary-ARCH/Packages[.gz|.xz] gives COMPONENT; the
 * top-level Packages[.gz|.xz] of a flat repository ("deb URI DIR/", apt's
 * list file <prefix>Packages) gives "": apt gives a flat repository's
 * index targets no Component (apt-get indextargets lists none), so a policy
 * component constraint never matches a flat repository. */
static bool packages_path(const char *path, char *comp, size_t cap)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strcmp(base, "Packages") != 0 && strcmp(base, "Packages.gz") != 0 &&
	    strcmp(base, "Packages.xz") != 0)
		return false;
	if (base == path) {
		if (!cap)
			return false;
		comp[0] = '\0';
		return true;
	}
	const char *b = strstr(path, "/binary-");
	if (!b || b == path || b >= base)
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
	    !add_ext(f, "apt_component", comp[0] ? comp : NULL) ||
	    !add_ext(f, "apt_package", pk->name) || !add_ext(f, "apt_version", pk->version) ||
	    !add_ext(f, "apt_architecture", pk->arch)) {
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

/* What a walk looks for in one verified index of the archive (local names
 * its file): the entry, or NULL, after a note in b when the index has
 * something to say about it. */
typedef const struct gate_apt_pkg *(*match_fn)(const struct gate_apt_index *ix, const char *local,
					       const void *ctx, struct best *b);

/* What a walk found: the entry, the Release that vouches for its index,
 * and the index's component ("" for a flat repository). */
struct hit {
	const struct rel_ent *re;
	const struct gate_apt_pkg *pk;
	char comp[256];
};

/* A Release of a lists dir: <prefix>InRelease, or <prefix>Release whose
 * signature is <prefix>Release.gpg (detached). */
static bool release_name(const char *name, bool *detached, size_t *prefix)
{
	size_t l = strlen(name);
	if (l >= 9 && strcmp(name + l - 9, "InRelease") == 0) {
		*detached = false;
		*prefix = l - 9;
		return true;
	}
	if (l >= 7 && strcmp(name + l - 7, "Release") == 0) {
		*detached = true;
		*prefix = l - 7;
		return true;
	}
	return false;
}

/* Is there an InRelease for this prefix among the sorted names? It takes
 * precedence over the Release + Release.gpg, as for apt. */
static bool has_inrelease(char *const *names, size_t nn, const char *name, size_t prefix)
{
	char want[512];
	if (prefix + sizeof "InRelease" > sizeof want)
		return false;
	memcpy(want, name, prefix);
	memcpy(want + prefix, "InRelease", sizeof "InRelease");
	const char *key = want;
	return bsearch(&key, names, nn, sizeof(*names), cmp_str) != NULL;
}

/* The Releases of the lists dir, sorted by name (more than
 * GATE_APT_MAX_INRELEASE is an error). */
static enum gate_err list_releases(const struct gate_policy_apt *a, const char *dir,
				   char ***names, size_t *nn, struct gate_error *err)
{
	DIR *d = opendir(dir);
	enum gate_err rc = GATE_OK;
	*nn = 0;
	if (!d)
		return gate_fail(err, GATE_E_IO, NULL, NULL, "archive '%s': %s: %s", a->name, dir,
				 strerror(errno));
	if (!(*names = calloc(GATE_APT_MAX_INRELEASE, sizeof(**names)))) {
		closedir(d);
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	for (struct dirent *de; (de = readdir(d));) {
		bool detached;
		size_t prefix;
		if (!release_name(de->d_name, &detached, &prefix))
			continue;
		if (*nn == GATE_APT_MAX_INRELEASE) {
			/* Never decide on a part of the lists chosen by readdir. */
			rc = gate_fail(err, GATE_E_TOO_LARGE, NULL, NULL,
				       "archive '%s': %s holds more than %u Release files", a->name,
				       dir, GATE_APT_MAX_INRELEASE);
			break;
		}
		if (!((*names)[*nn] = strdup(de->d_name))) {
			rc = gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
			break;
		}
		(*nn)++;
	}
	closedir(d);
	qsort(*names, *nn, sizeof(**names), cmp_str);
	return rc;
}

static void free_names(char **names, size_t nn)
{
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
}

/* Walk the verified Releases of archive a (per lists prefix its InRelease,
 * else its Release + Release.gpg; in name order) that pass the policy's
 * origin and suite, and their Packages indexes of the policy's component
 * that are there and match their SHA256; the first entry match gives
 * under a current Release (Valid-Until) ends the walk in *h. GATE_OK with
 * h->pk NULL: not found, best says why when it can. */
static enum gate_err walk_locked(const struct gate_policy_apt *a, int64_t now, match_fn match,
				 const void *ctx, struct hit *h, struct best *best,
				 struct gate_error *err)
{
	const char *dir = a->lists ? a->lists : GATE_APT_DEFAULT_LISTS;
	char **names = NULL;
	size_t nn = 0;
	h->re = NULL;
	h->pk = NULL;
	h->comp[0] = '\0';
	enum gate_err rc = list_releases(a, dir, &names, &nn, err);
	for (size_t i = 0; rc == GATE_OK && i < nn && !h->pk; i++) {
		char path[4096];
		struct gate_error le = {0};
		bool detached = false;
		size_t prefix = 0;
		release_name(names[i], &detached, &prefix);
		if (detached && has_inrelease(names, nn, names[i], prefix))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		const struct rel_ent *re = get_release(path, detached, a->keyring, &le);
		if (!re) {
			note(best, 2, le.code ? le.code : GATE_E_SIGNATURE, "%s", le.msg);
			continue;
		}
		const struct gate_apt_release *r = &re->rel;
		if (a->origin && !(r->origin && strcmp(a->origin, r->origin) == 0)) {
			note(best, 1, GATE_E_IDENTITY, "%s: origin '%s', the policy wants '%s'", path,
			     r->origin ? r->origin : "", a->origin);
			continue;
		}
		if (a->suite && !(r->suite && strcmp(a->suite, r->suite) == 0) &&
		    !(r->codename && strcmp(a->suite, r->codename) == 0)) {
			note(best, 1, GATE_E_IDENTITY, "%s: suite '%s', the policy wants '%s'", path,
			     r->suite ? r->suite : "", a->suite);
			continue;
		}
		for (size_t k = 0; k < r->nfiles && !h->pk; k++) {
			const struct gate_apt_relfile *rf = &r->files[k];
			char comp[sizeof h->comp], local[4096];
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
			/* An uncompressed entry of the Release also vouches for
			 * apt's recompressed copy of it, by the decompressed text. */
			bool plain = !ends_with(rf->path, ".gz") && !ends_with(rf->path, ".xz");
			static const char *const apt_copies[] = {"", ".lz4", ".zst", ".gz", ".xz"};
			size_t ll = strlen(local), c = 0;
			for (; c < (plain ? 5u : 1u); c++) {
				if (ll + strlen(apt_copies[c]) >= sizeof local)
					continue;
				strcpy(local + ll, apt_copies[c]);
				if (access(local, F_OK) == 0)
					break;
			}
			if (c == (plain ? 5u : 1u))
				continue;
			const struct idx_ent *ix = get_index(local, &le);
			if (!ix) {
				note(best, 3, le.code, "%s", le.msg);
				continue;
			}
			const uint8_t *got = plain ? ix->plain_sha256 : ix->sha256;
			if ((plain ? ix->plain_size : ix->size) != rf->size ||
			    memcmp(got, rf->sha256, 32) != 0) {
				note(best, 3, GATE_E_DIGEST,
				     "%s does not match its SHA256 in %s (tampered or out of date)",
				     local, path);
				continue;
			}
			const struct gate_apt_pkg *pk = match(&ix->ix, local, ctx, best);
			if (!pk)
				continue;
			if (r->valid_until && now > r->valid_until) {
				char when[64];
				fmt_time(r->valid_until, when, sizeof when);
				note(best, 5, GATE_E_EXPIRED, "Release is stale since %s (%s)", when,
				     path);
				continue;
			}
			h->re = re;
			h->pk = pk;
			memcpy(h->comp, comp, sizeof comp);
		}
	}
	free_names(names, nn);
	return rc;
}

struct by_digest {
	const uint8_t *sha256;
	uint64_t size;
};

static const struct gate_apt_pkg *match_digest(const struct gate_apt_index *ix,
					       const char *local, const void *ctx, struct best *b)
{
	const struct by_digest *q = ctx;
	const struct gate_apt_pkg *pk = gate_apt_index_find(ix, q->sha256);
	if (pk && pk->size != q->size) {
		note(b, 4, GATE_E_DIGEST, "%s lists this SHA-256 with size %llu, the file has %llu",
		     local, (unsigned long long)pk->size, (unsigned long long)q->size);
		return NULL;
	}
	return pk;
}

struct by_version {
	const char *name, *version, *arch;
};

static const struct gate_apt_pkg *match_version(const struct gate_apt_index *ix,
						const char *local, const void *ctx,
						struct best *b)
{
	const struct by_version *q = ctx;
	size_t n;
	struct gate_apt_pkg *const *m =
		gate_apt_index_find_version(ix, q->name, q->version, q->arch, &n);
	if (!m)
		return NULL;
	/* sorted by sha256 within the package: the first and the last differ
	 * when any do */
	if (memcmp(m[0]->sha256, m[n - 1]->sha256, 32) != 0) {
		note(b, 4, GATE_E_DIGEST,
		     "%s lists %.80s %.80s %.20s more than once with different SHA-256s", local,
		     q->name, q->version, q->arch);
		return NULL;
	}
	for (size_t i = 1; i < n; i++)
		if (m[i]->size != m[0]->size) {
			note(b, 4, GATE_E_DIGEST,
			     "%s lists %.80s %.80s %.20s more than once with different sizes",
			     local, q->name, q->version, q->arch);
			return NULL;
		}
	return m[0];
}

static const struct gate_policy_apt *archive_of(const struct gate_policy *p, size_t archive,
					       struct gate_error *err)
{
	if (archive >= p->napts) {
		gate_fail(err, GATE_E_INTERNAL, NULL, NULL, "no such archive");
		return NULL;
	}
	return &p->apts[archive];
}

enum gate_err gate_apt_origin_verify(const struct gate_policy *p, size_t archive,
				     const uint8_t sha256[32], uint64_t size, int64_t now,
				     struct gate_facts **out, struct gate_error *err)
{
	const struct gate_policy_apt *a = archive_of(p, archive, err);
	struct by_digest q = {sha256, size};
	struct best best = {0};
	struct hit h;
	*out = NULL;
	if (!a)
		return GATE_E_INTERNAL;
	pthread_mutex_lock(&cache_lock);
	enum gate_err rc = walk_locked(a, now, match_digest, &q, &h, &best, err);
	if (rc == GATE_OK && h.pk)
		rc = make_facts(a, h.re, h.comp, h.pk, out, err);
	pthread_mutex_unlock(&cache_lock);
	if (rc != GATE_OK || *out)
		return rc;
	if (best.rank)
		return gate_fail(err, best.rc, NULL, "apt", "archive '%s': %s", a->name, best.msg);
	char hex[65];
	gate_hex_encode(sha256, 32, hex);
	return gate_fail(err, GATE_E_DIGEST, NULL, "apt",
			 "archive '%s': sha256 %s is not listed in a verified Packages index of %s",
			 a->name, hex, a->lists ? a->lists : GATE_APT_DEFAULT_LISTS);
}

enum gate_err gate_apt_origin_find_version(const struct gate_policy *p, size_t archive,
					   const char *name, const char *version,
					   const char *arch, int64_t now,
					   struct gate_facts **out, uint64_t *size,
					   struct gate_error *err)
{
	const struct gate_policy_apt *a = archive_of(p, archive, err);
	struct by_version q = {name, version, arch};
	struct best best = {0};
	struct hit h;
	*out = NULL;
	*size = 0;
	if (!a)
		return GATE_E_INTERNAL;
	if (!name || !version || !arch || !name[0] || !version[0] || !arch[0])
		return gate_fail(err, GATE_E_USAGE, NULL, "apt",
				 "archive '%s': a package needs a name, version and architecture",
				 a->name);
	pthread_mutex_lock(&cache_lock);
	enum gate_err rc = walk_locked(a, now, match_version, &q, &h, &best, err);
	if (rc == GATE_OK && h.pk) {
		rc = make_facts(a, h.re, h.comp, h.pk, out, err);
		*size = h.pk->size;
	}
	pthread_mutex_unlock(&cache_lock);
	if (rc != GATE_OK || *out) {
		if (rc != GATE_OK)
			*size = 0;
		return rc;
	}
	if (best.rank)
		return gate_fail(err, best.rc, NULL, "apt", "archive '%s': %s", a->name, best.msg);
	return gate_fail(err, GATE_E_DIGEST, NULL, "apt",
			 "archive '%s': %.80s %.80s %.20s is not listed in a verified Packages "
			 "index of %s",
			 a->name, name, version, arch,
			 a->lists ? a->lists : GATE_APT_DEFAULT_LISTS);
}
