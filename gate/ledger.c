/* ledger.c - the install ledger: one SQLite database in WAL mode. Every
 * statement is prepared once at open from constant text (nothing is ever
 * built from strings), every write is one BEGIN IMMEDIATE transaction, and
 * a database we did not create (not SQLite, a newer or foreign schema) is
 * refused without being touched. */
#include "ledger.h"
#include "gate_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include "lazy_sqlite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HASH_CHUNK (64u * 1024)
#define FIELD "ledger"

/* Schema version 2. The CHECKs repeat what gate_ledger_record validates so
 * that a row written by anything else is still well formed. */
#define PACKAGES_V2                                                                              \
	" (id INTEGER PRIMARY KEY,"                                                              \
	" name TEXT NOT NULL CHECK (length(name) > 0),"                                          \
	" version TEXT NOT NULL CHECK (length(version) > 0),"                                    \
	" arch TEXT NOT NULL CHECK (length(arch) > 0),"                                          \
	" deb_sha256 TEXT CHECK (deb_sha256 IS NULL OR length(deb_sha256) = 64),"                \
	" rule TEXT, signers TEXT, origin TEXT,"                                                 \
	" time INTEGER NOT NULL,"                                                                \
	" source TEXT NOT NULL DEFAULT 'install'"                                                \
	"  CHECK (source IN ('install', 'archive', 'dpkg')),"                                    \
	" CHECK (source = 'dpkg' OR deb_sha256 IS NOT NULL),"                                    \
	" UNIQUE (name, arch))"
#define FILES_V2                                                                                 \
	" (pkg INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,"                      \
	" path TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),"                                  \
	" sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"                                     \
	" size INTEGER NOT NULL CHECK (size >= 0),"                                              \
	" state TEXT NOT NULL DEFAULT 'ok'"                                                      \
	"  CHECK (state IN ('ok', 'config', 'changed', 'unverified')),"                          \
	" PRIMARY KEY (pkg, path)) WITHOUT ROWID"
#define INDEXES_V2                                                                               \
	"CREATE INDEX files_sha256 ON files(sha256)", "CREATE INDEX files_path ON files(path)"

static const char *const schema_v2[] = {
	("CREATE TABLE packages" PACKAGES_V2),
	("CREATE TABLE files" FILES_V2),
	INDEXES_V2,
	"PRAGMA user_version = 2",
};

/* 1 -> 2: SQLite cannot change a column's constraint in place, so both
 * tables are rebuilt (foreign keys are off around it: dropping the old
 * packages table must not cascade). Everything in schema 1 was allowed at
 * install time. */
static const char *const upgrade_v1_sql[] = {
	("CREATE TABLE packages_v2" PACKAGES_V2),
	("INSERT INTO packages_v2 (id, name, version, arch, deb_sha256, rule, signers, origin,"
	 " time, source) SELECT id, name, version, arch, deb_sha256, rule, signers, origin, time,"
	 " 'install' FROM packages"),
	("CREATE TABLE files_v2" FILES_V2),
	("INSERT INTO files_v2 (pkg, path, sha256, size, state)"
	 " SELECT pkg, path, sha256, size, 'ok' FROM files"),
	"DROP TABLE files",
	"DROP TABLE packages",
	"ALTER TABLE packages_v2 RENAME TO packages",
	"ALTER TABLE files_v2 RENAME TO files",
	INDEXES_V2,
	"PRAGMA user_version = 2",
};

/* A read-only connection cannot upgrade: it reads schema 1 through
 * temporary views of the same shape (names resolve to temp first). */
static const char *const views_v1[] = {
	("CREATE TEMP VIEW packages AS SELECT id, name, version, arch, deb_sha256, rule, signers,"
	 " origin, time, 'install' AS source FROM main.packages"),
	("CREATE TEMP VIEW files AS SELECT pkg, path, sha256, size, 'ok' AS state FROM main.files"),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const source_names[] = {
	[GATE_LEDGER_INSTALL] = "install",
	[GATE_LEDGER_ARCHIVE] = "archive",
	[GATE_LEDGER_DPKG] = "dpkg",
};
static const char *const state_names[] = {
	[GATE_FILE_OK] = "ok",
	[GATE_FILE_CONFIG] = "config",
	[GATE_FILE_CHANGED] = "changed",
	[GATE_FILE_UNVERIFIED] = "unverified",
};

const char *gate_ledger_source_name(enum gate_ledger_source s)
{
	return (size_t)s < NELEM(source_names) ? source_names[s] : "?";
}

const char *gate_ledger_state_name(enum gate_ledger_state s)
{
	return (size_t)s < NELEM(state_names) ? state_names[s] : "?";
}

/* Name back to value; unknown text (a row nothing of ours wrote) maps to
 * the value that vouches for nothing. */
static int name_index(const char *const *names, size_t n, const char *s, int fallback)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return fallback;
}

#define PKG_COLS                                                                                 \
	"p.name, p.version, p.arch, p.deb_sha256, p.rule, p.signers, p.origin, p.time, p.source"
#define NPKG_COLS 9
#define FILE_COLS "f.path, f.sha256, f.size, f.state"
#define FILE_JOIN " FROM files f JOIN packages p ON p.id = f.pkg"
/* What the exec gate may trust (gate_ledger_has_digest). */
#define VOUCHED "f.state = 'ok' AND p.source IN ('install', 'archive')"

/* Statements up to ST_INS_FILE write. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_DEL_PKG,
	ST_INS_PKG,
	ST_INS_FILE,
	ST_LIST,
	ST_SHOW,
	ST_SHOW_ARCH,
	ST_PKG_FILES,
	ST_BY_DIGEST,
	ST_BY_PATH,
	ST_HAS_DIGEST,
	ST_HAS_VERSION,
	ST_ALL_FILES,
	ST_UNDER,
	ST_COUNT
};

/* Columns: PKG_COLS, then id/nfiles, or FILE_COLS. */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_DEL_PKG] = "DELETE FROM packages WHERE name = ?1 AND arch = ?2",
	[ST_INS_PKG] = "INSERT INTO packages (name, version, arch, deb_sha256, rule, signers,"
		       " origin, time, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_INS_FILE] = "INSERT INTO files (pkg, path, sha256, size, state)"
			" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_LIST] = "SELECT " PKG_COLS ", (SELECT count(*) FROM files f WHERE f.pkg = p.id)"
		    " FROM packages p ORDER BY p.name, p.arch",
	[ST_SHOW] = "SELECT " PKG_COLS ", p.id FROM packages p WHERE p.name = ?1 ORDER BY p.arch",
	[ST_SHOW_ARCH] = "SELECT " PKG_COLS ", p.id FROM packages p"
			 " WHERE p.name = ?1 AND p.arch = ?2",
	[ST_PKG_FILES] = "SELECT " FILE_COLS " FROM files f WHERE f.pkg = ?1 ORDER BY f.path",
	[ST_BY_DIGEST] = "SELECT " PKG_COLS ", " FILE_COLS FILE_JOIN
			 " WHERE f.sha256 = ?1 ORDER BY f.path, p.name, p.arch",
	[ST_BY_PATH] = "SELECT " PKG_COLS ", " FILE_COLS FILE_JOIN
		       " WHERE f.path = ?1 ORDER BY p.name, p.arch",
	[ST_HAS_DIGEST] = "SELECT 1" FILE_JOIN " WHERE f.sha256 = ?1 AND " VOUCHED " LIMIT 1",
	[ST_HAS_VERSION] = "SELECT source FROM packages WHERE name = ?1 AND arch = ?2"
			   " AND version = ?3",
	[ST_ALL_FILES] = "SELECT " PKG_COLS ", " FILE_COLS FILE_JOIN
			 " ORDER BY f.path, p.name, p.arch",
	/* At or under ?1: the path itself, or [?1 "/", ?1 "0") - '0' is the
	 * byte after '/', so the range is exactly the descendants and the
	 * path index serves it. */
	[ST_UNDER] = "SELECT " PKG_COLS ", " FILE_COLS FILE_JOIN
		     " WHERE f.path = ?1 OR (f.path >= ?2 AND f.path < ?3)"
		     " ORDER BY f.path, p.name, p.arch",
};

struct gate_ledger {
	sqlite3 *db;
	char *path;
	bool readonly;
	unsigned busy_ms;
	sqlite3_stmt *st[ST_COUNT];
};

/* ---- errors ---- */

static enum gate_err db_fail(const struct gate_ledger *l, int rc, const char *what,
			     struct gate_error *err)
{
	const char *msg = l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return gate_fail(err, GATE_E_IO, NULL, FIELD,
				 "%s: %s: the ledger is locked by another process "
				 "(waited %u ms)",
				 l->path, what, l->busy_ms);
	case SQLITE_NOMEM:
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	case SQLITE_CONSTRAINT:
		return gate_fail(err, GATE_E_PARSE, NULL, FIELD, "%s: %s: %s", l->path, what, msg);
	case SQLITE_NOTADB:
		return gate_fail(err, GATE_E_IO, NULL, FIELD,
				 "%s is not a ledger: file is not an SQLite database", l->path);
	case SQLITE_CORRUPT:
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: ledger database is corrupt: %s",
				 l->path, msg);
	default:
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: %s: %s", l->path, what, msg);
	}
}

/* Step a statement that returns no rows, then reset it. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

static void stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Run one constant statement (schema, pragmas) and hand back the first
 * column of its first row when asked. */
static int exec_one(sqlite3 *db, const char *sql, int64_t *first)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (first)
			*first = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/* ---- opening ---- */

/* mkdir -p of path's directory, new components mode 0700. */
static enum gate_err make_parent(const char *path, struct gate_error *err)
{
	char *dir = strdup(path);
	enum gate_err rc = GATE_OK;
	if (!dir)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		goto out;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			rc = gate_fail(err, GATE_E_IO, NULL, FIELD, "cannot create %s: %s", dir,
				       strerror(errno));
			goto out;
		}
		*p = c;
		if (c == '\0')
			break;
	}
out:
	free(dir);
	return rc;
}

/* Create the database file 0600 ourselves: SQLite would use the umask. */
static enum gate_err create_file(const char *path, struct gate_error *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd >= 0) {
		close(fd);
		return GATE_OK;
	}
	if (errno == EEXIST)
		return GATE_OK;
	return gate_fail(err, GATE_E_IO, NULL, FIELD, "cannot create %s: %s", path,
			 strerror(errno));
}

/* Run constant statements in one BEGIN IMMEDIATE transaction, when
 * PRAGMA user_version still equals from (another process may have done it
 * while we waited for the lock); from 0 also needs an empty database. */
static enum gate_err run_schema(struct gate_ledger *l, const char *const *sql, size_t n,
				int64_t from, const char *what, struct gate_error *err)
{
	int64_t version = 0, objects = 0;
	int rc = exec_one(l->db, "BEGIN IMMEDIATE", NULL);
	if (rc != SQLITE_OK)
		return db_fail(l, rc, what, err);
	if ((rc = exec_one(l->db, "PRAGMA user_version", &version)) != SQLITE_OK ||
	    (rc = exec_one(l->db, "SELECT count(*) FROM sqlite_master", &objects)) != SQLITE_OK)
		goto fail;
	if (version == from && (from != 0 || objects == 0))
		for (size_t i = 0; i < n; i++)
			if ((rc = exec_one(l->db, sql[i], NULL)) != SQLITE_OK) {
				if ((rc & 0xff) != SQLITE_ERROR && (rc & 0xff) != SQLITE_CONSTRAINT)
					goto fail;
				/* No such table or column, or rows that break
				 * a constraint: not a schema we wrote. */
				enum gate_err e = gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
							    "%s: unexpected ledger schema: %s",
							    l->path, sqlite3_errmsg(l->db));
				(void)exec_one(l->db, "ROLLBACK", NULL);
				return e;
			}
	if ((rc = exec_one(l->db, "COMMIT", NULL)) != SQLITE_OK)
		goto fail;
	return GATE_OK;
fail:;
	enum gate_err e = db_fail(l, rc, what, err);
	(void)exec_one(l->db, "ROLLBACK", NULL);
	return e;
}

static enum gate_err upgrade_v1(struct gate_ledger *l, struct gate_error *err)
{
	int rc = exec_one(l->db, "PRAGMA foreign_keys = OFF", NULL);
	if (rc != SQLITE_OK)
		return db_fail(l, rc, "upgrading the schema", err);
	enum gate_err e = run_schema(l, upgrade_v1_sql, NELEM(upgrade_v1_sql), 1,
				     "upgrading the schema from version 1", err);
	if (e == GATE_OK && (rc = exec_one(l->db, "PRAGMA foreign_keys = ON", NULL)) != SQLITE_OK)
		e = db_fail(l, rc, "enabling foreign keys", err);
	return e;
}

/* Refuse anything but our schema before writing a single byte: even
 * switching to WAL rewrites the header of a database we do not own. */
static enum gate_err check_schema(struct gate_ledger *l, int64_t *version, struct gate_error *err)
{
	int64_t objects = 0;
	int rc = exec_one(l->db, "PRAGMA user_version", version);
	if (rc == SQLITE_OK)
		rc = exec_one(l->db, "SELECT count(*) FROM sqlite_master", &objects);
	if (rc != SQLITE_OK)
		return db_fail(l, rc, "reading the schema version", err);
	if (*version > GATE_LEDGER_SCHEMA)
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
				 "%s: ledger schema version %lld is newer than this gate "
				 "understands (%d)",
				 l->path, (long long)*version, GATE_LEDGER_SCHEMA);
	if (*version < 0 || (*version == 0 && objects != 0))
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
				 "%s: not a gate ledger (schema version %lld, %lld objects)",
				 l->path, (long long)*version, (long long)objects);
	if (*version == 0 && l->readonly)
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: the ledger is empty (never written)",
				 l->path);
	return GATE_OK;
}

static enum gate_err prepare_all(struct gate_ledger *l, struct gate_error *err)
{
	int rc;
	for (int i = 0; i < ST_COUNT; i++) {
		/* Writes stay unprepared on a read-only connection: schema 1
		 * is read there through views, which cannot be written. */
		if (l->readonly && i <= ST_INS_FILE)
			continue;
		rc = sqlite3_prepare_v3(l->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &l->st[i],
					NULL);
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_NOTADB ||
		    (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOMEM)
			return db_fail(l, rc, "preparing statements", err);
		if (rc != SQLITE_OK)
			return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
					 "%s: unexpected ledger schema: %s", l->path,
					 sqlite3_errmsg(l->db));
	}
	return GATE_OK;
}

static enum gate_err configure(struct gate_ledger *l, struct gate_error *err)
{
	int64_t version = 0;
	enum gate_err e;
	int rc;
	sqlite3_extended_result_codes(l->db, 1);
	sqlite3_busy_timeout(l->db, (int)l->busy_ms);
	/* A ledger file is data, never code: no writable_schema tricks, no
	 * functions run from the schema. */
	sqlite3_db_config(l->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(l->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	if ((e = check_schema(l, &version, err)) != GATE_OK)
		return e;
	if (version == 1 && !l->readonly && (e = upgrade_v1(l, err)) != GATE_OK)
		return e;
	if (version == 1 && l->readonly)
		for (size_t i = 0; i < NELEM(views_v1); i++)
			if ((rc = exec_one(l->db, views_v1[i], NULL)) != SQLITE_OK)
				return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
						 "%s: unexpected ledger schema: %s", l->path,
						 sqlite3_errmsg(l->db));
	if ((rc = exec_one(l->db, "PRAGMA foreign_keys = ON", NULL)) != SQLITE_OK)
		return db_fail(l, rc, "enabling foreign keys", err);
	/* Preparing every statement checks the tables and columns they name:
	 * done before anything is written to a database that says it is
	 * ours. */
	if (version != 0 && (e = prepare_all(l, err)) != GATE_OK)
		return e;
	if (!l->readonly) {
		if ((rc = exec_one(l->db, "PRAGMA journal_mode = WAL", NULL)) != SQLITE_OK)
			return db_fail(l, rc, "switching to WAL", err);
		/* FULL: an allowed install must survive a power cut, or the
		 * exec gate would later deny what was installed. */
		if ((rc = exec_one(l->db, "PRAGMA synchronous = FULL", NULL)) != SQLITE_OK)
			return db_fail(l, rc, "setting synchronous", err);
		if (version == 0 &&
		    ((e = run_schema(l, schema_v2, NELEM(schema_v2), 0, "creating the schema", err)) !=
			     GATE_OK ||
		     (e = prepare_all(l, err)) != GATE_OK))
			return e;
	}
	return GATE_OK;
}

enum gate_err gate_ledger_open(const char *path, bool readonly, struct gate_ledger **out,
			       struct gate_error *err)
{
	struct gate_ledger *l = NULL;
	enum gate_err e;
	struct stat st;
	if (!gate_lazy_sqlite())
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD, "%s",
				 gate_lazy_sqlite_error());
	if (!path || !*path)
		return gate_fail(err, GATE_E_USAGE, NULL, FIELD, "no ledger path");
	if (lstat(path, &st) == 0) {
		/* Not followed: whoever can plant a link in the ledger's
		 * directory must not choose which file we write. */
		if (!S_ISREG(st.st_mode))
			return gate_fail(err, GATE_E_IO, NULL, FIELD,
					 "ledger %s is not a regular file%s", path,
					 S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
	} else if (readonly || errno != ENOENT) {
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "cannot open ledger %s: %s", path,
				 strerror(errno));
	}
	if (!readonly && ((e = make_parent(path, err)) != GATE_OK ||
			  (e = create_file(path, err)) != GATE_OK))
		return e;
	if (!(l = calloc(1, sizeof(*l))) || !(l->path = strdup(path))) {
		e = gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		goto fail;
	}
	l->readonly = readonly;
	l->busy_ms = GATE_LEDGER_BUSY_MS;
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOFOLLOW;
	int rc = sqlite3_open_v2(path, &l->db, flags, NULL);
	if (rc != SQLITE_OK) {
		e = gate_fail(err, rc == SQLITE_NOMEM ? GATE_E_NOMEM : GATE_E_IO, NULL, FIELD,
			      "cannot open ledger %s: %s", path,
			      l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
		goto fail;
	}
	if ((e = configure(l, err)) != GATE_OK)
		goto fail;
	*out = l;
	return GATE_OK;
fail:
	gate_ledger_close(l);
	return e;
}

void gate_ledger_close(struct gate_ledger *l)
{
	if (!l)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(l->st[i]);
	sqlite3_close(l->db);
	free(l->path);
	free(l);
}

void gate_ledger_set_busy_timeout(struct gate_ledger *l, unsigned ms)
{
	if (ms > INT_MAX)
		ms = INT_MAX;
	l->busy_ms = ms;
	sqlite3_busy_timeout(l->db, (int)ms);
}

/* ---- recording ---- */

static bool is_hex64(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

static enum gate_err check_pkg(const struct gate_ledger_pkg *p, size_t i, struct gate_error *err)
{
	char field[48];
	snprintf(field, sizeof field, "packages[%zu]", i);
	if (!p->name || !*p->name || !p->version || !*p->version || !p->arch || !*p->arch)
		return gate_fail(err, GATE_E_USAGE, NULL, field, "name, version and arch are required");
	if ((size_t)p->source >= NELEM(source_names))
		return gate_fail(err, GATE_E_USAGE, NULL, field, "unknown source");
	if (!is_hex64(p->deb_sha256) && !(p->source == GATE_LEDGER_DPKG && !p->deb_sha256[0]))
		return gate_fail(err, GATE_E_USAGE, NULL, field,
				 "deb_sha256 must be 64 lowercase hex digits");
	if (p->nfiles && !p->files)
		return gate_fail(err, GATE_E_USAGE, NULL, field, "nfiles without files");
	for (size_t j = 0; j < p->nfiles; j++) {
		const struct gate_ledger_file *f = &p->files[j];
		if (!f->path || f->path[0] != '/')
			return gate_fail(err, GATE_E_USAGE, NULL, field,
					 "file %zu: path must be absolute", j);
		if (!is_hex64(f->sha256))
			return gate_fail(err, GATE_E_USAGE, NULL, field,
					 "%s: sha256 must be 64 lowercase hex digits", f->path);
		if (f->size > INT64_MAX)
			return gate_fail(err, GATE_E_USAGE, NULL, field, "%s: size out of range",
					 f->path);
		if ((size_t)f->state >= NELEM(state_names))
			return gate_fail(err, GATE_E_USAGE, NULL, field, "%s: unknown state",
					 f->path);
	}
	return GATE_OK;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static int insert_pkg(struct gate_ledger *l, const struct gate_ledger_pkg *p, int64_t now,
		      const char **what)
{
	sqlite3_stmt *s = l->st[ST_DEL_PKG];
	int rc;
	*what = "replacing a package";
	bind_text(s, 1, p->name);
	bind_text(s, 2, p->arch);
	if ((rc = step_done(s)) != SQLITE_DONE)
		return rc;
	*what = "inserting a package";
	s = l->st[ST_INS_PKG];
	bind_text(s, 1, p->name);
	bind_text(s, 2, p->version);
	bind_text(s, 3, p->arch);
	bind_text(s, 4, p->deb_sha256[0] ? p->deb_sha256 : NULL);
	bind_text(s, 5, p->rule);
	bind_text(s, 6, p->signers);
	bind_text(s, 7, p->origin);
	sqlite3_bind_int64(s, 8, p->time ? p->time : now);
	bind_text(s, 9, source_names[p->source]);
	if ((rc = step_done(s)) != SQLITE_DONE)
		return rc;
	int64_t id = sqlite3_last_insert_rowid(l->db);
	*what = "inserting a file";
	s = l->st[ST_INS_FILE];
	for (size_t j = 0; j < p->nfiles; j++) {
		sqlite3_bind_int64(s, 1, id);
		bind_text(s, 2, p->files[j].path);
		bind_text(s, 3, p->files[j].sha256);
		sqlite3_bind_int64(s, 4, (int64_t)p->files[j].size);
		bind_text(s, 5, state_names[p->files[j].state]);
		if ((rc = step_done(s)) != SQLITE_DONE)
			return rc;
	}
	return SQLITE_DONE;
}

/* Writes: BEGIN IMMEDIATE, then txn_end with the last step's result and
 * what it was doing: COMMIT after SQLITE_DONE, else (or if COMMIT fails)
 * ROLLBACK - all or nothing. */
static enum gate_err txn_begin(struct gate_ledger *l, struct gate_error *err)
{
	if (l->readonly)
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: opened read-only", l->path);
	int rc = step_done(l->st[ST_BEGIN]);
	return rc == SQLITE_DONE ? GATE_OK : db_fail(l, rc, "starting a transaction", err);
}

static enum gate_err txn_end(struct gate_ledger *l, int rc, const char *what,
			     struct gate_error *err)
{
	if (rc == SQLITE_DONE) {
		what = "committing";
		if ((rc = step_done(l->st[ST_COMMIT])) == SQLITE_DONE)
			return GATE_OK;
	}
	enum gate_err e = db_fail(l, rc, what, err);
	/* A failed COMMIT may already have ended the transaction; ROLLBACK
	 * then fails harmlessly. */
	if (!sqlite3_get_autocommit(l->db))
		(void)step_done(l->st[ST_ROLLBACK]);
	return e;
}

enum gate_err gate_ledger_record(struct gate_ledger *l, const struct gate_ledger_pkg *pkgs,
				 size_t n, struct gate_error *err)
{
	const char *what = "";
	enum gate_err e;
	int rc = SQLITE_DONE;
	for (size_t i = 0; i < n; i++)
		if ((e = check_pkg(&pkgs[i], i, err)) != GATE_OK)
			return e;
	if ((e = txn_begin(l, err)) != GATE_OK)
		return e;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++)
		rc = insert_pkg(l, &pkgs[i], now, &what);
	return txn_end(l, rc, what, err);
}

enum gate_err gate_ledger_forget(struct gate_ledger *l, const char *const *names,
				 const char *const *archs, size_t n, struct gate_error *err)
{
	enum gate_err e = txn_begin(l, err);
	int rc = SQLITE_DONE;
	if (e != GATE_OK)
		return e;
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_stmt *s = l->st[ST_DEL_PKG];
		bind_text(s, 1, names[i]);
		bind_text(s, 2, archs[i]);
		rc = step_done(s);
	}
	return txn_end(l, rc, "forgetting a package", err);
}

/* ---- reading ---- */

static char *col_text(sqlite3_stmt *s, int i)
{
	return (char *)sqlite3_column_text(s, i);
}

/* Borrowed view of PKG_COLS (columns 0 to NPKG_COLS - 1). */
static void row_pkg(sqlite3_stmt *s, struct gate_ledger_pkg *p)
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
	p->source = (enum gate_ledger_source)name_index(source_names, NELEM(source_names),
							col_text(s, 8), GATE_LEDGER_DPKG);
}

/* Borrowed view of FILE_COLS starting at column i. */
static void row_file(sqlite3_stmt *s, int i, struct gate_ledger_file *f)
{
	const char *d = col_text(s, i + 1);
	f->path = col_text(s, i);
	snprintf(f->sha256, sizeof f->sha256, "%s", d ? d : "");
	int64_t size = sqlite3_column_int64(s, i + 2);
	f->size = size < 0 ? 0 : (uint64_t)size;
	f->state = (enum gate_ledger_state)name_index(state_names, NELEM(state_names),
						      col_text(s, i + 3), GATE_FILE_UNVERIFIED);
}

enum gate_err gate_ledger_list(struct gate_ledger *l, gate_ledger_pkg_fn fn, void *ctx,
			       struct gate_error *err)
{
	sqlite3_stmt *s = l->st[ST_LIST];
	struct gate_ledger_pkg p;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_pkg(s, &p);
		p.nfiles = (size_t)sqlite3_column_int64(s, NPKG_COLS);
		if (fn)
			fn(ctx, &p);
	}
	stmt_done(s);
	return rc == SQLITE_DONE ? GATE_OK : db_fail(l, rc, "listing packages", err);
}

/* Files of package id into a malloc'd array of borrowed-then-copied rows. */
static int load_files(struct gate_ledger *l, int64_t id, struct gate_ledger_file **out,
		      size_t *n)
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
		row_file(s, 0, &f);
		if (!(f.path = strdup(f.path ? f.path : ""))) {
			rc = SQLITE_NOMEM;
			break;
		}
		v[len++] = f;
	}
	stmt_done(s);
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
	row_pkg(s, &b);
	memset(r, 0, sizeof(*r));
	memcpy(r->p.deb_sha256, b.deb_sha256, sizeof b.deb_sha256);
	r->p.time = b.time;
	r->p.source = b.source;
	r->id = sqlite3_column_int64(s, NPKG_COLS);
	return copy_str(&r->p.name, b.name) && copy_str(&r->p.version, b.version) &&
	       copy_str(&r->p.arch, b.arch) && copy_str(&r->p.rule, b.rule) &&
	       copy_str(&r->p.signers, b.signers) && copy_str(&r->p.origin, b.origin);
}

static int collect_show(struct gate_ledger *l, const char *name, struct show_row **out,
			size_t *n)
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
	stmt_done(s);
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
		e = db_fail(l, rc, "reading a package", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rc = load_files(l, rows[i].id, &rows[i].p.files, &rows[i].p.nfiles);
		if (rc != SQLITE_DONE) {
			e = db_fail(l, rc, "reading files", err);
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

/* Run a file query (PKG_COLS then path, sha256, size) through fn. */
static int each_file(sqlite3_stmt *s, gate_ledger_file_fn fn, void *ctx, size_t *count)
{
	struct gate_ledger_pkg p;
	struct gate_ledger_file f;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_pkg(s, &p);
		row_file(s, NPKG_COLS, &f);
		(*count)++;
		if (fn)
			fn(ctx, &p, &f);
	}
	stmt_done(s);
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
	int rc = each_file(s, fn, ctx, found);
	return rc == SQLITE_DONE ? GATE_OK : db_fail(l, rc, "looking up", err);
}

enum gate_err gate_ledger_has_digest(struct gate_ledger *l, const uint8_t sha256[32], bool *found,
				     struct gate_error *err)
{
	char hex[65];
	sqlite3_stmt *s = l->st[ST_HAS_DIGEST];
	gate_hex_encode(sha256, 32, hex);
	sqlite3_bind_text(s, 1, hex, 64, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(l, rc, "looking up a digest", err);
	*found = rc == SQLITE_ROW;
	return GATE_OK;
}

enum gate_err gate_ledger_has_version(struct gate_ledger *l, const char *name, const char *arch,
				      const char *version, bool *found,
				      enum gate_ledger_source *source, struct gate_error *err)
{
	sqlite3_stmt *s = l->st[ST_HAS_VERSION];
	bind_text(s, 1, name);
	bind_text(s, 2, arch);
	bind_text(s, 3, version);
	int rc = sqlite3_step(s);
	*found = rc == SQLITE_ROW;
	if (*found && source)
		*source = (enum gate_ledger_source)name_index(
			source_names, NELEM(source_names), col_text(s, 0), GATE_LEDGER_DPKG);
	stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(l, rc, "looking up a package", err);
	return GATE_OK;
}

enum gate_err gate_ledger_check(struct gate_ledger *l, struct gate_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(l->db, "PRAGMA quick_check", -1, &s, NULL);
	enum gate_err e = GATE_OK;
	if (rc != SQLITE_OK)
		return db_fail(l, rc, "checking the database", err);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);
		if (!r || strcmp(r, "ok") != 0)
			e = gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: ledger database is corrupt: %s",
				      l->path, r ? r : "(no detail)");
	} else {
		e = db_fail(l, rc, "checking the database", err);
	}
	sqlite3_finalize(s);
	return e;
}

/* ---- verification ---- */

struct verify_run {
	const char *root;
	size_t rootlen;
	gate_ledger_verify_fn fn;
	void *ctx;
	size_t *checked, *bad;
	EVP_MD_CTX *md;
	uint8_t *buf;
};

/* Hash an open regular file; NULL when it matches, else a status. */
static const char *hash_matches(struct verify_run *r, int fd, const struct gate_ledger_file *f)
{
	uint8_t dig[32];
	char hex[65];
	uint64_t total = 0;
	if (EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1)
		return "unreadable";
	for (;;) {
		ssize_t n = read(fd, r->buf, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return "unreadable";
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > f->size)
			return "modified"; /* grew while we read */
		if (EVP_DigestUpdate(r->md, r->buf, (size_t)n) != 1)
			return "unreadable";
	}
	if (EVP_DigestFinal_ex(r->md, dig, NULL) != 1)
		return "unreadable";
	gate_hex_encode(dig, 32, hex);
	return total == f->size && strcmp(hex, f->sha256) == 0 ? NULL : "modified";
}

static const char *check_one(struct verify_run *r, const struct gate_ledger_file *f)
{
	char full[PATH_MAX];
	struct stat st;
	if (snprintf(full, sizeof full, "%s%s", r->root, f->path) >= (int)sizeof full)
		return "unreadable";
	if (lstat(full, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? "missing" : "unreadable";
	if (S_ISLNK(st.st_mode))
		return "replaced by a link";
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	/* O_NOFOLLOW closes the race with a link swapped in after lstat;
	 * O_NONBLOCK keeps a FIFO swapped in from blocking the walk. */
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? "replaced by a link"
		       : errno == ENOENT ? "missing"
					 : "unreadable";
	const char *status = NULL;
	if (fstat(fd, &st) != 0)
		status = "unreadable";
	else if (!S_ISREG(st.st_mode))
		status = "not a regular file";
	else if ((uint64_t)st.st_size != f->size)
		status = "modified";
	else
		status = hash_matches(r, fd, f);
	close(fd);
	return status;
}

static int verify_rows(struct verify_run *r, sqlite3_stmt *s)
{
	struct gate_ledger_pkg p;
	struct gate_ledger_file f;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_pkg(s, &p);
		row_file(s, NPKG_COLS, &f);
		(*r->checked)++;
		const char *status = f.path ? check_one(r, &f) : "missing";
		if (status) {
			(*r->bad)++;
			if (r->fn)
				r->fn(r->ctx, &p, &f, status);
		}
	}
	stmt_done(s);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Absolute, without trailing slashes ("" is the whole tree), sorted and
 * with paths under an earlier one dropped, so no file is checked twice. */
static enum gate_err norm_paths(const char *const *paths, size_t n, char ***out, size_t *nout,
				struct gate_error *err)
{
	char **v = calloc(n ? n : 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (paths[i][0] != '/') {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return gate_fail(err, GATE_E_USAGE, NULL, "path",
					 "'%s' is not an absolute path", paths[i]);
		}
		if (!(v[i] = strdup(paths[i]))) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		}
		size_t len = strlen(v[i]);
		while (len > 0 && v[i][len - 1] == '/')
			v[i][--len] = '\0';
	}
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++) {
		size_t pl = k ? strlen(v[k - 1]) : 0;
		if (k && strncmp(v[i], v[k - 1], pl) == 0 && (v[i][pl] == '\0' || v[i][pl] == '/')) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	*out = v;
	*nout = k;
	return GATE_OK;
}

static int verify_under(struct verify_run *r, sqlite3_stmt *s, const char *p)
{
	size_t len = strlen(p);
	char *lo = malloc(len + 2), *hi = malloc(len + 2);
	int rc = SQLITE_NOMEM;
	if (lo && hi) {
		memcpy(lo, p, len);
		memcpy(hi, p, len);
		lo[len] = '/';
		hi[len] = '0';
		lo[len + 1] = hi[len + 1] = '\0';
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, hi, -1, SQLITE_STATIC);
		rc = verify_rows(r, s);
	}
	free(lo);
	free(hi);
	return rc;
}

enum gate_err gate_ledger_verify(struct gate_ledger *l, const char *root, const char *const *paths,
				 size_t npaths, gate_ledger_verify_fn fn, void *ctx, size_t *checked,
				 size_t *bad, struct gate_error *err)
{
	struct verify_run r = {.root = root ? root : "", .fn = fn, .ctx = ctx,
			       .checked = checked, .bad = bad};
	char **v = NULL, *rootcopy = NULL;
	size_t nv = 0;
	enum gate_err e;
	int rc = SQLITE_DONE;
	*checked = *bad = 0;
	if ((e = norm_paths(paths, npaths, &v, &nv, err)) != GATE_OK)
		return e;
	/* "/srv/root/" + "/usr/bin/x": drop the root's trailing slashes. */
	if (!(rootcopy = strdup(r.root)) || !(r.md = EVP_MD_CTX_new()) ||
	    !(r.buf = malloc(HASH_CHUNK))) {
		e = gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		goto out;
	}
	r.rootlen = strlen(rootcopy);
	while (r.rootlen > 0 && rootcopy[r.rootlen - 1] == '/')
		rootcopy[--r.rootlen] = '\0';
	r.root = rootcopy;
	if (npaths == 0 || (nv > 0 && v[0][0] == '\0'))
		rc = verify_rows(&r, l->st[ST_ALL_FILES]);
	else
		for (size_t i = 0; i < nv && rc == SQLITE_DONE; i++)
			rc = verify_under(&r, l->st[ST_UNDER], v[i]);
	e = rc == SQLITE_DONE ? GATE_OK : db_fail(l, rc, "reading files", err);
out:
	for (size_t i = 0; i < nv; i++)
		free(v[i]);
	free(v);
	free(rootcopy);
	free(r.buf);
	EVP_MD_CTX_free(r.md);
	return e;
}

void gate_ledger_pkg_clear(struct gate_ledger_pkg *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->rule);
	free(p->signers);
	free(p->origin);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i].path);
	free(p->files);
	memset(p, 0, sizeof(*p));
}
