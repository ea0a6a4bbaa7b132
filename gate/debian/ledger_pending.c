/* ledger_pending.c - what the apt hook allowed but dpkg has not installed
 * yet (pending, pending_files), the root a ledger describes (meta), and
 * the checked all-or-nothing write that recorded and pending packages
 * share (ledger_int.h): ledger.h. Pending rows live in tables no lookup
 * reads, so they never vouch for anything. */
#include "ledger_int.h"
#include "gate_util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum gate_err gate_ledger_check_names(const struct gate_ledger_pkg *p, const char *what,
				      size_t i, char field[48], struct gate_error *err)
{
	snprintf(field, 48, "%s[%zu]", what, i);
	if (!p->name || !*p->name || !p->version || !*p->version || !p->arch || !*p->arch)
		return gate_fail(err, GATE_E_USAGE, NULL, field,
				 "name, version and arch are required");
	if (p->nfiles && !p->files)
		return gate_fail(err, GATE_E_USAGE, NULL, field, "nfiles without files");
	for (size_t j = 0; j < p->nfiles; j++)
		if (!p->files[j].path || p->files[j].path[0] != '/')
			return gate_fail(err, GATE_E_USAGE, NULL, field,
					 "file %zu: path must be absolute", j);
	return GATE_OK;
}

enum gate_err gate_ledger_write_pkgs(struct gate_ledger *l, const struct gate_ledger_pkg *pkgs,
				     size_t n, gate_ledger_check_fn check,
				     gate_ledger_insert_fn insert, struct gate_error *err)
{
	const char *what = "";
	enum gate_err e;
	int rc = SQLITE_DONE;
	for (size_t i = 0; i < n; i++)
		if ((e = check(&pkgs[i], i, err)) != GATE_OK)
			return e;
	if ((e = gate_ledger_txn_begin(l, err)) != GATE_OK)
		return e;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++)
		rc = insert(l, &pkgs[i], now, &what);
	return gate_ledger_txn_end(l, rc, what, err);
}

static enum gate_err check_pending(const struct gate_ledger_pkg *p, size_t i,
				   struct gate_error *err)
{
	char field[48];
	enum gate_err e = gate_ledger_check_names(p, "pending", i, field, err);
	if (e != GATE_OK)
		return e;
	if (!gate_ledger_is_hex(p->deb_sha256, 64))
		return gate_fail(err, GATE_E_USAGE, NULL, field,
				 "deb_sha256 must be 64 lowercase hex digits");
	for (size_t j = 0; j < p->nfiles; j++) {
		const struct gate_ledger_file *f = &p->files[j];
		bool md5 = f->md5[0] != '\0', sha = f->sha256[0] != '\0';
		if ((!md5 && !sha) || (md5 && !gate_ledger_is_hex(f->md5, 32)) ||
		    (sha && !gate_ledger_is_hex(f->sha256, 64)))
			return gate_fail(err, GATE_E_USAGE, NULL, field,
					 "%s: needs an md5 (32) or sha256 (64 lowercase hex "
					 "digits)",
					 f->path);
	}
	return GATE_OK;
}

static int insert_pending_files(struct gate_ledger *l, int64_t id, const struct gate_ledger_pkg *p,
				const char **what)
{
	sqlite3_stmt *s = l->st[ST_INS_PENDING_FILE];
	int rc = SQLITE_DONE;
	*what = "inserting a pending file";
	for (size_t j = 0; j < p->nfiles && rc == SQLITE_DONE; j++) {
		const struct gate_ledger_file *f = &p->files[j];
		sqlite3_bind_int64(s, 1, id);
		gate_ledger_bind_text(s, 2, f->path);
		gate_ledger_bind_text(s, 3, f->md5[0] ? f->md5 : NULL);
		gate_ledger_bind_text(s, 4, f->sha256[0] ? f->sha256 : NULL);
		if (f->sha256[0])
			sqlite3_bind_int64(s, 5, (int64_t)f->size);
		rc = gate_ledger_step_done(s);
	}
	return rc;
}

static int insert_pending(struct gate_ledger *l, const struct gate_ledger_pkg *p, int64_t now,
			  const char **what)
{
	int64_t id = 0;
	gate_ledger_bind_text(l->st[ST_INS_PENDING], 9, p->deb);
	int rc = gate_ledger_replace_row(l, ST_DEL_PENDING, ST_INS_PENDING, p, now, &id, what);
	return rc == SQLITE_DONE ? insert_pending_files(l, id, p, what) : rc;
}

enum gate_err gate_ledger_add_pending(struct gate_ledger *l, const struct gate_ledger_pkg *pkgs,
				      size_t n, struct gate_error *err)
{
	return gate_ledger_write_pkgs(l, pkgs, n, check_pending, insert_pending, err);
}

static char *col_dup(sqlite3_stmt *s, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	char *d = t ? strdup((const char *)t) : NULL;
	if (t && !d)
		*oom = true;
	return d;
}

static void col_hex(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* The files of pending package id into p (owned by p). */
static int load_pending_files(struct gate_ledger *l, int64_t id, struct gate_ledger_pkg *p,
			      bool *oom)
{
	sqlite3_stmt *s = l->st[ST_PENDING_FILES];
	size_t cap = 0;
	int rc;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (p->nfiles == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct gate_ledger_file *nf = realloc(p->files, nc * sizeof(*nf));
			if (!nf) {
				*oom = true;
				break;
			}
			p->files = nf;
			cap = nc;
		}
		struct gate_ledger_file *f = &p->files[p->nfiles];
		memset(f, 0, sizeof(*f));
		if (!(f->path = col_dup(s, 0, oom)))
			break;
		col_hex(s, 1, f->md5, sizeof f->md5);
		col_hex(s, 2, f->sha256, sizeof f->sha256);
		f->size = (uint64_t)sqlite3_column_int64(s, 3);
		p->nfiles++;
	}
	gate_ledger_stmt_done(s);
	return *oom ? SQLITE_NOMEM : rc;
}

enum gate_err gate_ledger_list_pending(struct gate_ledger *l, gate_ledger_pending_fn fn, void *ctx,
				       int64_t *last_id, struct gate_error *err)
{
	sqlite3_stmt *s = l->st[ST_LIST_PENDING];
	int rc;
	*last_id = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct gate_ledger_pkg p = {.source = GATE_LEDGER_INSTALL};
		bool oom = false;
		int64_t id = sqlite3_column_int64(s, 0);
		p.name = col_dup(s, 1, &oom);
		p.version = col_dup(s, 2, &oom);
		p.arch = col_dup(s, 3, &oom);
		col_hex(s, 4, p.deb_sha256, sizeof p.deb_sha256);
		p.rule = col_dup(s, 5, &oom);
		p.signers = col_dup(s, 6, &oom);
		p.origin = col_dup(s, 7, &oom);
		p.time = sqlite3_column_int64(s, 8);
		p.deb = col_dup(s, 9, &oom);
		int frc = oom ? SQLITE_NOMEM : load_pending_files(l, id, &p, &oom);
		if (frc != SQLITE_DONE || !p.name || !p.version || !p.arch) {
			gate_ledger_pkg_clear(&p);
			rc = frc == SQLITE_DONE ? SQLITE_NOMEM : frc;
			break;
		}
		*last_id = id;
		fn(ctx, &p);
		gate_ledger_pkg_clear(&p);
	}
	gate_ledger_stmt_done(s);
	return rc == SQLITE_DONE ? GATE_OK : gate_ledger_db_fail(l, rc, "reading pending packages", err);
}

/* The id of the pending row p names (name, arch, .deb digest): 0 none. */
static int pending_id(struct gate_ledger *l, const struct gate_ledger_pkg *p, int64_t *id)
{
	sqlite3_stmt *s = l->st[ST_PENDING_ID];
	*id = 0;
	gate_ledger_bind_text(s, 1, p->name);
	gate_ledger_bind_text(s, 2, p->arch);
	gate_ledger_bind_text(s, 3, p->deb_sha256);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		rc = SQLITE_DONE;
	}
	gate_ledger_stmt_done(s);
	return rc;
}

enum gate_err gate_ledger_digest_pending(struct gate_ledger *l, const struct gate_ledger_pkg *p,
					 struct gate_error *err)
{
	const char *what = "finding a pending package";
	int64_t id = 0;
	enum gate_err e = check_pending(p, 0, err);
	if (e != GATE_OK || (e = gate_ledger_txn_begin(l, err)) != GATE_OK)
		return e;
	int rc = pending_id(l, p, &id);
	if (rc == SQLITE_DONE && id) {
		what = "replacing pending files";
		sqlite3_bind_int64(l->st[ST_DEL_PENDING_FILES], 1, id);
		rc = gate_ledger_step_done(l->st[ST_DEL_PENDING_FILES]);
		if (rc == SQLITE_DONE)
			rc = insert_pending_files(l, id, p, &what);
	}
	return gate_ledger_txn_end(l, rc, what, err);
}

enum gate_err gate_ledger_drop_pending(struct gate_ledger *l, int64_t last_id,
				       struct gate_error *err)
{
	enum gate_err e = gate_ledger_txn_begin(l, err);
	if (e != GATE_OK)
		return e;
	sqlite3_bind_int64(l->st[ST_DROP_PENDING], 1, last_id);
	return gate_ledger_txn_end(l, gate_ledger_step_done(l->st[ST_DROP_PENDING]),
				   "dropping pending packages", err);
}

/* ---- the root ---- */

static int get_meta(struct gate_ledger *l, const char *key, char **out)
{
	sqlite3_stmt *s = l->st[ST_GET_META];
	bool oom = false;
	*out = NULL;
	gate_ledger_bind_text(s, 1, key);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = col_dup(s, 0, &oom);
		rc = oom ? SQLITE_NOMEM : SQLITE_DONE;
	}
	gate_ledger_stmt_done(s);
	return rc;
}

enum gate_err gate_ledger_get_root(struct gate_ledger *l, char **root, char **admindir,
				   struct gate_error *err)
{
	int rc = get_meta(l, "root", root);
	if (rc == SQLITE_DONE)
		rc = get_meta(l, "admindir", admindir);
	if (rc == SQLITE_DONE)
		return GATE_OK;
	free(*root);
	*root = NULL;
	return gate_ledger_db_fail(l, rc, "reading the ledger's root", err);
}

static enum gate_err set_root(struct gate_ledger *l, const char *root, const char *admindir,
			      struct gate_error *err)
{
	static const char *const keys[] = {"root", "admindir"};
	const char *vals[] = {root, admindir};
	enum gate_err e = gate_ledger_txn_begin(l, err);
	int rc = SQLITE_DONE;
	if (e != GATE_OK)
		return e;
	for (size_t i = 0; i < 2 && rc == SQLITE_DONE; i++) {
		gate_ledger_bind_text(l->st[ST_SET_META], 1, keys[i]);
		gate_ledger_bind_text(l->st[ST_SET_META], 2, vals[i]);
		rc = gate_ledger_step_done(l->st[ST_SET_META]);
	}
	return gate_ledger_txn_end(l, rc, "recording the ledger's root", err);
}

static enum gate_err other_root(const struct gate_ledger *l, const char *bound,
			       const char *bound_admin, const char *root, const char *admindir,
			       struct gate_error *err)
{
	return gate_fail(err, GATE_E_USAGE, NULL, FIELD,
			 "%s records the root %s (dpkg database %s), not %s%s%s%s: one ledger "
			 "per root, give this root a ledger of its own",
			 l->path, bound, bound_admin ? bound_admin : "?", root,
			 admindir ? " (dpkg database " : "", admindir ? admindir : "",
			 admindir ? ")" : "");
}

enum gate_err gate_ledger_check_root(struct gate_ledger *l, const char *root,
				     struct gate_error *err)
{
	char *r = NULL, *a = NULL;
	enum gate_err e = gate_ledger_get_root(l, &r, &a, err);
	if (e == GATE_OK && r && strcmp(r, root) != 0)
		e = other_root(l, r, a, root, NULL, err);
	free(r);
	free(a);
	return e;
}

enum gate_err gate_ledger_bind_root(struct gate_ledger *l, const char *root, const char *admindir,
				    struct gate_error *err)
{
	char *r = NULL, *a = NULL;
	enum gate_err e = gate_ledger_get_root(l, &r, &a, err);
	if (e != GATE_OK)
		return e;
	if (!r && !l->readonly)
		e = set_root(l, root, admindir, err);
	else if (r && (strcmp(r, root) != 0 || !a || strcmp(a, admindir) != 0))
		e = other_root(l, r, a, root, admindir, err);
	free(r);
	free(a);
	return e;
}

static enum gate_err canon(const char *what, const char *path, char out[4096],
			   struct gate_error *err)
{
	char buf[PATH_MAX];
	if (!realpath(path, buf))
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s %s: %s", what, path,
				 strerror(errno));
	snprintf(out, 4096, "%s", buf);
	return GATE_OK;
}

enum gate_err gate_ledger_canon_root(const char *root, char out[4096], struct gate_error *err)
{
	return canon("root", root && *root ? root : "/", out, err);
}

enum gate_err gate_ledger_canon_admindir(const char *root, const char *admindir, char out[4096],
					 struct gate_error *err)
{
	char buf[PATH_MAX];
	if (!admindir) {
		int w = snprintf(buf, sizeof buf, "%s/var/lib/dpkg", strcmp(root, "/") ? root : "");
		if (w < 0 || (size_t)w >= sizeof buf)
			return gate_fail(err, GATE_E_USAGE, NULL, FIELD, "root %s: path too long",
					 root);
		admindir = buf;
	}
	return canon("dpkg database", admindir, out, err);
}
