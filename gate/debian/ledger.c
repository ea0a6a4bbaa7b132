/* ledger.c - the install ledger: one SQLite database in WAL mode. Every
 * statement is prepared once at open from constant text (nothing is ever
 * built from strings), every write is one BEGIN IMMEDIATE transaction, and
 * a database we did not create (not SQLite, a newer or foreign schema) is
 * refused without being touched. Reading is in ledger_read.c, checking
 * recorded files on disk in ledger_verify.c (ledger_int.h). */
#include "ledger_int.h"
#include "gate_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include "lazy_sqlite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* Schema version 2. The CHECKs repeat what gate_ledger_record validates so
 * that a row written by anything else is still well formed. */
#define PACKAGES_V2                                                                                \
	" (id INTEGER PRIMARY KEY,"                                                                \
	" name TEXT NOT NULL CHECK (length(name) > 0),"                                            \
	" version TEXT NOT NULL CHECK (length(version) > 0),"                                      \
	" arch TEXT NOT NULL CHECK (length(arch) > 0),"                                            \
	" deb_sha256 TEXT CHECK (deb_sha256 IS NULL OR length(deb_sha256) = 64),"                  \
	" rule TEXT, signers TEXT, origin TEXT,"                                                   \
	" time INTEGER NOT NULL,"                                                                  \
	" source TEXT NOT NULL DEFAULT 'install'"                                                  \
	"  CHECK (source IN ('install', 'archive', 'dpkg')),"                                      \
	" CHECK (source = 'dpkg' OR deb_sha256 IS NOT NULL),"                                      \
	" UNIQUE (name, arch))"
#define FILES_V2                                                                                   \
	" (pkg INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,"                        \
	" path TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),"                                    \
	" sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"                                       \
	" size INTEGER NOT NULL CHECK (size >= 0),"                                                \
	" state TEXT NOT NULL DEFAULT 'ok'"                                                        \
	"  CHECK (state IN ('ok', 'config', 'changed', 'unverified')),"                            \
	" PRIMARY KEY (pkg, path)) WITHOUT ROWID"
#define INDEXES_V2                                                                                 \
	"CREATE INDEX files_sha256 ON files(sha256)", "CREATE INDEX files_path ON files(path)"

/* Schema version 3 adds what the apt hook allowed but dpkg has not
 * installed yet (pending, pending_files: never read by a lookup, so never
 * vouched for) and the root the ledger describes (meta). */
#define TABLES_V3                                                                                  \
	("CREATE TABLE pending (id INTEGER PRIMARY KEY,"                                           \
	 " name TEXT NOT NULL CHECK (length(name) > 0),"                                           \
	 " version TEXT NOT NULL CHECK (length(version) > 0),"                                     \
	 " arch TEXT NOT NULL CHECK (length(arch) > 0),"                                           \
	 " deb_sha256 TEXT NOT NULL CHECK (length(deb_sha256) = 64),"                              \
	 " rule TEXT, signers TEXT, origin TEXT, time INTEGER NOT NULL, deb TEXT,"                 \
	 " UNIQUE (name, arch))"),                                                                 \
	("CREATE TABLE pending_files"                                                              \
	 " (pending INTEGER NOT NULL REFERENCES pending(id) ON DELETE CASCADE,"                    \
	 " path TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),"                                   \
	 " md5 TEXT CHECK (md5 IS NULL OR length(md5) = 32),"                                      \
	 " sha256 TEXT CHECK (sha256 IS NULL OR length(sha256) = 64),"                             \
	 " size INTEGER CHECK (size IS NULL OR size >= 0),"                                        \
	 " CHECK (md5 IS NOT NULL OR sha256 IS NOT NULL),"                                         \
	 " PRIMARY KEY (pending, path)) WITHOUT ROWID"),                                           \
	("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")

static const char *const schema_v3[] = {
	("CREATE TABLE packages" PACKAGES_V2),
	("CREATE TABLE files" FILES_V2),
	INDEXES_V2,
	TABLES_V3,
	"PRAGMA user_version = 3",
};

static const char *const upgrade_v2_sql[] = {
	TABLES_V3,
	"PRAGMA user_version = 3",
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

/* Schema 1 and 2 read-only: nothing pending, no root recorded. */
static const char *const views_v2[] = {
	("CREATE TEMP VIEW pending AS SELECT 0 AS id, '' AS name, '' AS version, '' AS arch,"
	 " '' AS deb_sha256, '' AS rule, '' AS signers, '' AS origin, 0 AS time, '' AS deb"
	 " WHERE 0"),
	("CREATE TEMP VIEW pending_files AS SELECT 0 AS pending, '' AS path, '' AS md5,"
	 " '' AS sha256, 0 AS size WHERE 0"),
	"CREATE TEMP VIEW meta AS SELECT '' AS key, '' AS value WHERE 0",
};

const char *const gate_ledger_source_names[] = {
	[GATE_LEDGER_INSTALL] = "install",
	[GATE_LEDGER_ARCHIVE] = "archive",
	[GATE_LEDGER_DPKG] = "dpkg",
};
const char *const gate_ledger_state_names[] = {
	[GATE_FILE_OK] = "ok",
	[GATE_FILE_CONFIG] = "config",
	[GATE_FILE_CHANGED] = "changed",
	[GATE_FILE_UNVERIFIED] = "unverified",
};

const char *gate_ledger_source_name(enum gate_ledger_source s)
{
	return (size_t)s < NELEM(gate_ledger_source_names) ? gate_ledger_source_names[s] : "?";
}

const char *gate_ledger_state_name(enum gate_ledger_state s)
{
	return (size_t)s < NELEM(gate_ledger_state_names) ? gate_ledger_state_names[s] : "?";
}

/* Name back to value; unknown text (a row nothing of ours wrote) maps to
 * the value that vouches for nothing. */
int gate_ledger_name_index(const char *const *names, size_t n, const char *s, int fallback)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return fallback;
}

#define FILE_COLS "f.path, f.sha256, f.size, f.state"
#define FILE_JOIN " FROM files f JOIN packages p ON p.id = f.pkg"
/* What the exec gate may trust (gate_ledger_has_digest). */
#define VOUCHED "f.state = 'ok' AND p.source IN ('install', 'archive')"

/* Columns: PKG_COLS, then id/nfiles, or FILE_COLS. */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_DEL_PKG] = "DELETE FROM packages WHERE name = ?1 AND arch = ?2",
	[ST_INS_PKG] = "INSERT INTO packages (name, version, arch, deb_sha256, rule, signers,"
		       " origin, time, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_DEL_PENDING] = "DELETE FROM pending WHERE name = ?1 AND arch = ?2",
	[ST_INS_PENDING] = "INSERT INTO pending (name, version, arch, deb_sha256, rule, signers,"
			   " origin, time, deb) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_INS_PENDING_FILE] = "INSERT INTO pending_files (pending, path, md5, sha256, size)"
				" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_DEL_PENDING_FILES] = "DELETE FROM pending_files WHERE pending = ?1",
	[ST_DROP_PENDING] = "DELETE FROM pending WHERE id <= ?1",
	[ST_SET_META] = "INSERT INTO meta (key, value) VALUES (?1, ?2)",
	[ST_INS_FILE] = "INSERT INTO files (pkg, path, sha256, size, state)"
			" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_LIST_PENDING] = "SELECT id, name, version, arch, deb_sha256, rule, signers, origin,"
			    " time, deb FROM pending ORDER BY id",
	[ST_PENDING_FILES] = "SELECT path, md5, sha256, size FROM pending_files"
			     " WHERE pending = ?1 ORDER BY path",
	[ST_PENDING_ID] = "SELECT id FROM pending WHERE name = ?1 AND arch = ?2"
			  " AND deb_sha256 = ?3",
	[ST_GET_META] = "SELECT value FROM meta WHERE key = ?1",
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
	[ST_ALL_FILES] =
		"SELECT " PKG_COLS ", " FILE_COLS FILE_JOIN " ORDER BY f.path, p.name, p.arch",
	/* At or under ?1: the path itself, or [?1 "/", ?1 "0") - '0' is the
	 * byte after '/', so the range is exactly the descendants and the
	 * path index serves it. */
	[ST_UNDER] = "SELECT " PKG_COLS ", " FILE_COLS FILE_JOIN
		     " WHERE f.path = ?1 OR (f.path >= ?2 AND f.path < ?3)"
		     " ORDER BY f.path, p.name, p.arch",
};

/* ---- errors ---- */

enum gate_err gate_ledger_db_fail(const struct gate_ledger *l, int rc, const char *what,
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
int gate_ledger_step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

void gate_ledger_stmt_done(sqlite3_stmt *s)
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
		return gate_ledger_db_fail(l, rc, what, err);
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
	enum gate_err e = gate_ledger_db_fail(l, rc, what, err);
	(void)exec_one(l->db, "ROLLBACK", NULL);
	return e;
}

static enum gate_err upgrade_v2(struct gate_ledger *l, struct gate_error *err)
{
	return run_schema(l, upgrade_v2_sql, NELEM(upgrade_v2_sql), 2,
			  "upgrading the schema from version 2", err);
}

static enum gate_err upgrade_v1(struct gate_ledger *l, struct gate_error *err)
{
	int rc = exec_one(l->db, "PRAGMA foreign_keys = OFF", NULL);
	if (rc != SQLITE_OK)
		return gate_ledger_db_fail(l, rc, "upgrading the schema", err);
	enum gate_err e = run_schema(l, upgrade_v1_sql, NELEM(upgrade_v1_sql), 1,
				     "upgrading the schema from version 1", err);
	if (e == GATE_OK && (rc = exec_one(l->db, "PRAGMA foreign_keys = ON", NULL)) != SQLITE_OK)
		e = gate_ledger_db_fail(l, rc, "enabling foreign keys", err);
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
		return gate_ledger_db_fail(l, rc, "reading the schema version", err);
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
		return gate_fail(err, GATE_E_IO, NULL, FIELD,
				 "%s: the ledger is empty (never written)", l->path);
	return GATE_OK;
}

static enum gate_err make_views(struct gate_ledger *l, const char *const *sql, size_t n,
			       struct gate_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (exec_one(l->db, sql[i], NULL) != SQLITE_OK)
			return gate_fail(err, GATE_E_UNSUPPORTED, NULL, FIELD,
					 "%s: unexpected ledger schema: %s", l->path,
					 sqlite3_errmsg(l->db));
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
		rc = sqlite3_prepare_v3(l->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&l->st[i], NULL);
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_NOTADB ||
		    (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOMEM)
			return gate_ledger_db_fail(l, rc, "preparing statements", err);
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
	if ((version == 1 || version == 2) && !l->readonly && (e = upgrade_v2(l, err)) != GATE_OK)
		return e;
	if (l->readonly && ((version == 1 && (e = make_views(l, views_v1, NELEM(views_v1),
							      err)) != GATE_OK) ||
			    ((version == 1 || version == 2) &&
			     (e = make_views(l, views_v2, NELEM(views_v2), err)) != GATE_OK)))
		return e;
	if ((rc = exec_one(l->db, "PRAGMA foreign_keys = ON", NULL)) != SQLITE_OK)
		return gate_ledger_db_fail(l, rc, "enabling foreign keys", err);
	/* Preparing every statement checks the tables and columns they name:
	 * done before anything is written to a database that says it is
	 * ours. */
	if (version != 0 && (e = prepare_all(l, err)) != GATE_OK)
		return e;
	if (!l->readonly) {
		if ((rc = exec_one(l->db, "PRAGMA journal_mode = WAL", NULL)) != SQLITE_OK)
			return gate_ledger_db_fail(l, rc, "switching to WAL", err);
		/* FULL: an allowed install must survive a power cut, or the
		 * exec gate would later deny what was installed. */
		if ((rc = exec_one(l->db, "PRAGMA synchronous = FULL", NULL)) != SQLITE_OK)
			return gate_ledger_db_fail(l, rc, "setting synchronous", err);
		if (version == 0 && ((e = run_schema(l, schema_v3, NELEM(schema_v3), 0,
						     "creating the schema", err)) != GATE_OK ||
				     (e = prepare_all(l, err)) != GATE_OK))
			return e;
	}
	return GATE_OK;
}

/* Whether path's folder is on a read-only file system (or mount). */
static bool on_readonly_fs(const char *path)
{
	struct statvfs sv;
	return statvfs(path, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/* Whether path-wal holds changes not yet merged into path. */
static bool has_wal(const char *path)
{
	char wal[PATH_MAX];
	struct stat st;
	int n = snprintf(wal, sizeof wal, "%s-wal", path);
	return n < 0 || (size_t)n >= sizeof wal || (lstat(wal, &st) == 0 && st.st_size > 0);
}

/* "file:PATH?immutable=1" with PATH percent-encoded where URIs need it. */
static char *immutable_uri(const char *path)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *u = malloc(3 * n + 32), *o = u;
	if (!u)
		return NULL;
	o += sprintf(o, "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (*c == '%' || *c == '?' || *c == '#' || *c < 0x20 || *c >= 0x7f) {
			*o++ = '%';
			*o++ = hexd[*c >> 4];
			*o++ = hexd[*c & 15];
		} else {
			*o++ = (char)*c;
		}
	}
	strcpy(o, "?immutable=1");
	return u;
}

/* Open and configure l->db; on a read-only file system a reader cannot
 * create the WAL index (-shm) and SQLite says only "unable to open
 * database file" or "disk I/O error": then a fully merged ledger is opened
 * immutable (nobody can write it there), and otherwise the error says
 * what failed. */
static enum gate_err open_db(struct gate_ledger *l, const char *path, bool readonly,
			     struct gate_error *err)
{
	int flags =
		(readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOFOLLOW;
	int rc = sqlite3_open_v2(path, &l->db, flags, NULL);
	enum gate_err e = GATE_OK;
	if (rc == SQLITE_OK && (e = configure(l, err)) == GATE_OK)
		return GATE_OK;
	if (rc == SQLITE_OK && (!readonly || !on_readonly_fs(path)))
		return e;
	if (rc != SQLITE_OK && !(readonly && on_readonly_fs(path)))
		return gate_fail(err, rc == SQLITE_NOMEM ? GATE_E_NOMEM : GATE_E_IO, NULL, FIELD,
				 "cannot open ledger %s: %s", path,
				 l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
	for (int i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(l->st[i]);
		l->st[i] = NULL;
	}
	sqlite3_close(l->db);
	l->db = NULL;
	if (has_wal(path))
		return gate_fail(err, GATE_E_IO, NULL, FIELD,
				 "cannot read ledger %s: it is on a read-only file system and its "
				 "write-ahead log (%s-wal) holds changes not yet merged",
				 path, path);
	char *uri = immutable_uri(path);
	if (!uri)
		return gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
	rc = sqlite3_open_v2(uri, &l->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return gate_fail(err, GATE_E_IO, NULL, FIELD,
				 "cannot open ledger %s (read-only file system): %s", path,
				 l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
	return configure(l, err);
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
	if (!readonly &&
	    ((e = make_parent(path, err)) != GATE_OK || (e = create_file(path, err)) != GATE_OK))
		return e;
	if (!(l = calloc(1, sizeof(*l))) || !(l->path = strdup(path))) {
		e = gate_fail(err, GATE_E_NOMEM, NULL, FIELD, "out of memory");
		goto fail;
	}
	l->readonly = readonly;
	l->busy_ms = GATE_LEDGER_BUSY_MS;
	if ((e = open_db(l, path, readonly, err)) != GATE_OK)
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

bool gate_ledger_is_hex(const char *s, size_t len)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == len;
}

static bool is_hex64(const char *s)
{
	return gate_ledger_is_hex(s, 64);
}

enum gate_err gate_ledger_check_pkg(const struct gate_ledger_pkg *p, size_t i,
				    struct gate_error *err)
{
	char field[48];
	enum gate_err e = gate_ledger_check_names(p, "packages", i, field, err);
	if (e != GATE_OK)
		return e;
	if ((size_t)p->source >= NELEM(gate_ledger_source_names))
		return gate_fail(err, GATE_E_USAGE, NULL, field, "unknown source");
	if (!is_hex64(p->deb_sha256) && !(p->source == GATE_LEDGER_DPKG && !p->deb_sha256[0]))
		return gate_fail(err, GATE_E_USAGE, NULL, field,
				 "deb_sha256 must be 64 lowercase hex digits");
	for (size_t j = 0; j < p->nfiles; j++) {
		const struct gate_ledger_file *f = &p->files[j];
		if (!is_hex64(f->sha256))
			return gate_fail(err, GATE_E_USAGE, NULL, field,
					 "%s: sha256 must be 64 lowercase hex digits", f->path);
		if (f->size > INT64_MAX)
			return gate_fail(err, GATE_E_USAGE, NULL, field, "%s: size out of range",
					 f->path);
		if ((size_t)f->state >= NELEM(gate_ledger_state_names))
			return gate_fail(err, GATE_E_USAGE, NULL, field, "%s: unknown state",
					 f->path);
	}
	return GATE_OK;
}

void gate_ledger_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

int gate_ledger_replace_row(struct gate_ledger *l, enum stmt_id del, enum stmt_id ins,
			    const struct gate_ledger_pkg *p, int64_t now, int64_t *id,
			    const char **what)
{
	sqlite3_stmt *s = l->st[del];
	int rc;
	*what = "replacing a package";
	gate_ledger_bind_text(s, 1, p->name);
	gate_ledger_bind_text(s, 2, p->arch);
	if ((rc = gate_ledger_step_done(s)) != SQLITE_DONE)
		return rc;
	*what = "inserting a package";
	s = l->st[ins];
	gate_ledger_bind_text(s, 1, p->name);
	gate_ledger_bind_text(s, 2, p->version);
	gate_ledger_bind_text(s, 3, p->arch);
	gate_ledger_bind_text(s, 4, p->deb_sha256[0] ? p->deb_sha256 : NULL);
	gate_ledger_bind_text(s, 5, p->rule);
	gate_ledger_bind_text(s, 6, p->signers);
	gate_ledger_bind_text(s, 7, p->origin);
	sqlite3_bind_int64(s, 8, p->time ? p->time : now);
	if ((rc = gate_ledger_step_done(s)) != SQLITE_DONE)
		return rc;
	*id = sqlite3_last_insert_rowid(l->db);
	return SQLITE_DONE;
}

static int insert_pkg(struct gate_ledger *l, const struct gate_ledger_pkg *p, int64_t now,
		      const char **what)
{
	int64_t id = 0;
	/* ?9 first: replace_row steps the statement. */
	gate_ledger_bind_text(l->st[ST_INS_PKG], 9, gate_ledger_source_names[p->source]);
	int rc = gate_ledger_replace_row(l, ST_DEL_PKG, ST_INS_PKG, p, now, &id, what);
	if (rc != SQLITE_DONE)
		return rc;
	sqlite3_stmt *s = l->st[ST_INS_FILE];
	*what = "inserting a file";
	for (size_t j = 0; j < p->nfiles; j++) {
		sqlite3_bind_int64(s, 1, id);
		gate_ledger_bind_text(s, 2, p->files[j].path);
		gate_ledger_bind_text(s, 3, p->files[j].sha256);
		sqlite3_bind_int64(s, 4, (int64_t)p->files[j].size);
		gate_ledger_bind_text(s, 5, gate_ledger_state_names[p->files[j].state]);
		if ((rc = gate_ledger_step_done(s)) != SQLITE_DONE)
			return rc;
	}
	return SQLITE_DONE;
}

/* Writes: BEGIN IMMEDIATE, then txn_end with the last step's result and
 * what it was doing: COMMIT after SQLITE_DONE, else (or if COMMIT fails)
 * ROLLBACK - all or nothing. */
enum gate_err gate_ledger_txn_begin(struct gate_ledger *l, struct gate_error *err)
{
	if (l->readonly)
		return gate_fail(err, GATE_E_IO, NULL, FIELD, "%s: opened read-only", l->path);
	int rc = gate_ledger_step_done(l->st[ST_BEGIN]);
	return rc == SQLITE_DONE ? GATE_OK
				 : gate_ledger_db_fail(l, rc, "starting a transaction", err);
}

enum gate_err gate_ledger_txn_end(struct gate_ledger *l, int rc, const char *what,
				  struct gate_error *err)
{
	if (rc == SQLITE_DONE) {
		what = "committing";
		if ((rc = gate_ledger_step_done(l->st[ST_COMMIT])) == SQLITE_DONE)
			return GATE_OK;
	}
	enum gate_err e = gate_ledger_db_fail(l, rc, what, err);
	/* A failed COMMIT may already have ended the transaction; ROLLBACK
	 * then fails harmlessly. */
	if (!sqlite3_get_autocommit(l->db))
		(void)gate_ledger_step_done(l->st[ST_ROLLBACK]);
	return e;
}

enum gate_err gate_ledger_record(struct gate_ledger *l, const struct gate_ledger_pkg *pkgs,
				 size_t n, struct gate_error *err)
{
	return gate_ledger_write_pkgs(l, pkgs, n, gate_ledger_check_pkg, insert_pkg, err);
}

enum gate_err gate_ledger_forget(struct gate_ledger *l, const char *const *names,
				 const char *const *archs, size_t n, struct gate_error *err)
{
	enum gate_err e = gate_ledger_txn_begin(l, err);
	int rc = SQLITE_DONE;
	if (e != GATE_OK)
		return e;
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_stmt *s = l->st[ST_DEL_PKG];
		gate_ledger_bind_text(s, 1, names[i]);
		gate_ledger_bind_text(s, 2, archs[i]);
		rc = gate_ledger_step_done(s);
	}
	return gate_ledger_txn_end(l, rc, "forgetting a package", err);
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
	free(p->deb);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i].path);
	free(p->files);
	memset(p, 0, sizeof(*p));
}
