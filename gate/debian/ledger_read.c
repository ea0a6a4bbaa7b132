/* ledger_read.c - reading the install ledger (ledger.h): the packages
 * recorded, one package with its files, the files with a digest or at a
 * path, whether a digest is vouched for or a version recorded, and
 * SQLite's own check of the database. */
#include "ledger_int.h"
#include "gate_util.h"

#include "lazy_sqlite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *col_text(sqlite3_stmt *s, int i)
{
	return (char *)sqlite3_column_text(s, i);
}

/* Borrowed view of PKG_COLS (columns 0 to NPKG_COLS - 1). */
void gate_ledger_row_pkg(sqlite3_stmt *s, struct gate_ledger_pkg *p)
{
	const char *d = col_text(s, 3);
	memset(p, 0, sizeof(*p));
	p->name = col_text(s, 0);
	p->version = col_text(s, 1);
	p->arch = col_text(s, 2);
	snprintf(p->deb_sha256, sizeof p->deb_sha256, "%s", d ? d : "");
	p->rule = col_text(s, 4);
	p->signers = col_text(s, 5);
	p->origin = col_text(s, 6);
	p->time = sqlite3_column_int64(s, 7);
	p->source = (enum gate_ledger_source)gate_ledger_name_index(
		gate_ledger_source_names, NELEM(gate_ledger_source_names), col_text(s, 8),
		GATE_LEDGER_DPKG);
}

/* Borrowed view of FILE_COLS starting at column i. */
void gate_ledger_row_file(sqlite3_stmt *s, int i, struct gate_ledger_file *f)
{
	const char *d = col_text(s, i + 1);
	f->path = col_text(s, i);
	snprintf(f->sha256, sizeof f->sha256, "%s", d ? d : "");
	int64_t size = sqlite3_column_int64(s, i + 2);
	f->size = size < 0 ? 0 : (uint64_t)size;
	f->state = (enum gate_ledger_state)gate_ledger_name_index(
		gate_ledger_state_names, NELEM(gate_ledger_state_names), col_text(s, i + 3),
		GATE_FILE_UNVERIFIED);
}

enum gate_err gate_ledger_list(struct gate_ledger *l, gate_ledger_pkg_fn fn, void *ctx,
			       struct gate_error *err)
{
	sqlite3_stmt *s = l->st[ST_LIST];
	struct gate_ledger_pkg p;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		gate_ledger_row_pkg(s, &p);
		p.nfiles = (size_t)sqlite3_column_int64(s, NPKG_COLS);
		if (fn)
			fn(ctx, &p);
	}
	gate_ledger_stmt_done(s);
	return rc == SQLITE_DONE ? GATE_OK : gate_ledger_db_fail(l, rc, "listing packages", err);
}

/* Files of package id into a malloc'd array of borrowed-then-copied rows. */
static int load_files(struct gate_ledger *l, int64_t id, struct gate_ledger_file **out, size_t *n)
{
	sqlite3_stmt *s = l->st[ST_PKG_FILES];
	struct gate_ledger_file *v = NULL;
	size_t cap = 0, len = 0;
	int rc;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct gate_ledger_file *nv = realloc(v, nc * sizeof(*v));
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		struct gate_ledger_file f;
		gate_ledger_row_file(s, 0, &f);
		if (!(f.path = strdup(f.path ? f.path : ""))) {
			rc = SQLITE_NOMEM;
			break;
		}
		v[len++] = f;
	}
	gate_ledger_stmt_done(s);
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < len; i++)
			free(v[i].path);
		free(v);
		return rc;
	}
	*out = v;
	*n = len;
	return SQLITE_DONE;
}

/* One show row, copied: loading its files runs another statement. */
struct show_row {
	struct gate_ledger_pkg p;
	int64_t id;
};

static bool copy_str(char **dst, const char *src)
{
	*dst = NULL;
	return !src || (*dst = strdup(src)) != NULL;
}

static bool copy_pkg_row(sqlite3_stmt *s, struct show_row *r)
{
	struct gate_ledger_pkg b;
	gate_ledger_row_pkg(s, &b);
	memset(r, 0, sizeof(*r));
	memcpy(r->p.deb_sha256, b.deb_sha256, sizeof b.deb_sha256);
	r->p.time = b.time;
	r->p.source = b.source;
	r->id = sqlite3_column_int64(s, NPKG_COLS);
	return copy_str(&r->p.name, b.name) && copy_str(&r->p.version, b.version) &&
	       copy_str(&r->p.arch, b.arch) && copy_str(&r->p.rule, b.rule) &&
	       copy_str(&r->p.signers, b.signers) && copy_str(&r->p.origin, b.origin);
}

static int collect_show(struct gate_ledger *l, const char *name, struct show_row **out, size_t *n)
{
	const char *colon = strchr(name, ':');
	sqlite3_stmt *s = l->st[colon ? ST_SHOW_ARCH : ST_SHOW];
	struct show_row *v = NULL;
	size_t len = 0;
	int rc;
	if (colon) {
		sqlite3_bind_text(s, 1, name, (int)(colon - name), SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, colon + 1, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	}
	/* (name, arch) is unique, so rows are few: one per architecture. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct show_row *nv = realloc(v, (len + 1) * sizeof(*v));
		if (!nv) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		bool ok = copy_pkg_row(s, &v[len]);
		len++;
		if (!ok) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	gate_ledger_stmt_done(s);
	*out = v;
	*n = len;
	return rc;
}

enum gate_err gate_ledger_show(struct gate_ledger *l, const char *name, gate_ledger_pkg_fn fn,
			       void *ctx, size_t *found, struct gate_error *err)
{
	struct show_row *rows = NULL;
	size_t n = 0;
	enum gate_err e = GATE_OK;
	*found = 0;
	int rc = collect_show(l, name, &rows, &n);
	if (rc != SQLITE_DONE) {
		e = gate_ledger_db_fail(l, rc, "reading a package", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rc = load_files(l, rows[i].id, &rows[i].p.files, &rows[i].p.nfiles);
		if (rc != SQLITE_DONE) {
			e = gate_ledger_db_fail(l, rc, "reading files", err);
			goto out;
		}
	}
	for (size_t i = 0; i < n && fn; i++)
		fn(ctx, &rows[i].p);
	*found = n;
out:
	for (size_t i = 0; i < n; i++)
		gate_ledger_pkg_clear(&rows[i].p);
	free(rows);
	return e;
}

/* "sha256:HEX" or bare HEX (either case) into lowercase hex. */
static bool parse_digest(const char *key, char hex[65])
{
	uint8_t d[32];
	if (strncmp(key, "sha256:", 7) == 0)
		key += 7;
	if (!gate_hex_decode(key, strlen(key), d, sizeof d))
		return false;
	gate_hex_encode(d, sizeof d, hex);
	return true;
}

int gate_ledger_each_file(sqlite3_stmt *s, gate_ledger_file_fn fn, void *ctx, size_t *count)
{
	struct gate_ledger_pkg p;
	struct gate_ledger_file f;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		gate_ledger_row_pkg(s, &p);
		gate_ledger_row_file(s, NPKG_COLS, &f);
		(*count)++;
		if (fn)
			fn(ctx, &p, &f);
	}
	gate_ledger_stmt_done(s);
	return rc;
}

enum gate_err gate_ledger_lookup(struct gate_ledger *l, const char *key, gate_ledger_file_fn fn,
				 void *ctx, size_t *found, struct gate_error *err)
{
	char hex[65];
	sqlite3_stmt *s;
	*found = 0;
	if (parse_digest(key, hex)) {
		s = l->st[ST_BY_DIGEST];
		sqlite3_bind_text(s, 1, hex, 64, SQLITE_TRANSIENT);
	} else if (key[0] == '/') {
		s = l->st[ST_BY_PATH];
		sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	} else {
		return gate_fail(err, GATE_E_USAGE, NULL, "key",
				 "'%s' is neither an absolute path nor a sha256 digest", key);
	}
	int rc = gate_ledger_each_file(s, fn, ctx, found);
	return rc == SQLITE_DONE ? GATE_OK : gate_ledger_db_fail(l, rc, "looking up", err);
}

enum gate_err gate_ledger_has_digest(struct gate_ledger *l, const uint8_t sha256[32], bool *found,
				     struct gate_error *err)
{
	char hex[65];
	sqlite3_stmt *s = l->st[ST_HAS_DIGEST];
	gate_hex_encode(sha256, 32, hex);
	sqlite3_bind_text(s, 1, hex, 64, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	gate_ledger_stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return gate_ledger_db_fail(l, rc, "looking up a digest", err);
	*found = rc == SQLITE_ROW;
	return GATE_OK;
}

enum gate_err gate_ledger_has_version(struct gate_ledger *l, const char *name, const char *arch,
				      const char *version, bool *found,
				      enum gate_ledger_source *source, struct gate_error *err)
{
	sqlite3_stmt *s = l->st[ST_HAS_VERSION];
	gate_ledger_bind_text(s, 1, name);
	gate_ledger_bind_text(s, 2, arch);
	gate_ledger_bind_text(s, 3, version);
	int rc = sqlite3_step(s);
	*found = rc == SQLITE_ROW;
	if (*found && source)
		*source = (enum gate_ledger_source)gate_ledger_name_index(
			gate_ledger_source_names, NELEM(gate_ledger_source_names), col_text(s, 0),
			GATE_LEDGER_DPKG);
	gate_ledger_stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return gate_ledger_db_fail(l, rc, "looking up a package", err);
	return GATE_OK;
}

enum gate_err gate_ledger_check(struct gate_ledger *l, struct gate_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(l->db, "PRAGMA quick_check", -1, &s, NULL);
	enum gate_err e = GATE_OK;
	if (rc != SQLITE_OK)
		return gate_ledger_db_fail(l, rc, "checking the database", err);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);
		if (!r || strcmp(r, "ok") != 0)
			e = gate_fail(err, GATE_E_IO, NULL, FIELD,
				      "%s: ledger database is corrupt: %s", l->path,
				      r ? r : "(no detail)");
	} else {
		e = gate_ledger_db_fail(l, rc, "checking the database", err);
	}
	sqlite3_finalize(s);
	return e;
}
