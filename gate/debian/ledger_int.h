/* ledger_int.h - what the files of the install ledger share: ledger.c
 * (the schema and its statements, opening, recording), ledger_read.c
 * (reading) and ledger_verify.c (checking recorded files on disk). Never
 * installed. */
#ifndef GATE_LEDGER_INT_H
#define GATE_LEDGER_INT_H

#include "ledger.h"
#include "lazy_sqlite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIELD "ledger"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define PKG_COLS                                                                                   \
	"p.name, p.version, p.arch, p.deb_sha256, p.rule, p.signers, p.origin, p.time, p.source"
#define NPKG_COLS 9

/* Statements up to ST_INS_FILE write. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_DEL_PKG,
	ST_INS_PKG,
	ST_DEL_PENDING,
	ST_INS_PENDING,
	ST_INS_PENDING_FILE,
	ST_DEL_PENDING_FILES,
	ST_DROP_PENDING,
	ST_SET_META,
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
	ST_LIST_PENDING,
	ST_PENDING_FILES,
	ST_PENDING_ID,
	ST_GET_META,
	ST_COUNT
};

struct gate_ledger {
	sqlite3 *db;
	char *path;
	bool readonly;
	unsigned busy_ms;
	sqlite3_stmt *st[ST_COUNT];
};

/* The stored text of each source and state, by value (ledger.c). */
extern const char *const gate_ledger_source_names[GATE_LEDGER_DPKG + 1];
extern const char *const gate_ledger_state_names[GATE_FILE_UNVERIFIED + 1];

/* ledger.c */
int gate_ledger_name_index(const char *const *names, size_t n, const char *s, int fallback);
enum gate_err gate_ledger_db_fail(const struct gate_ledger *l, int rc, const char *what,
				  struct gate_error *err);
void gate_ledger_stmt_done(sqlite3_stmt *s);
void gate_ledger_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Step a statement that returns no rows and reset it: SQLITE_DONE or the
 * error. */
int gate_ledger_step_done(sqlite3_stmt *s);
/* Writes: BEGIN IMMEDIATE, then txn_end with the last step's result and
 * what it was doing: COMMIT after SQLITE_DONE, else ROLLBACK. */
enum gate_err gate_ledger_txn_begin(struct gate_ledger *l, struct gate_error *err);
enum gate_err gate_ledger_txn_end(struct gate_ledger *l, int rc, const char *what,
				  struct gate_error *err);
/* Check every package, then insert them all in ONE transaction (all or
 * nothing): insert returns SQLITE_DONE or the failing step's code, with
 * what it was doing. */
typedef enum gate_err (*gate_ledger_check_fn)(const struct gate_ledger_pkg *p, size_t i,
					      struct gate_error *err);
typedef int (*gate_ledger_insert_fn)(struct gate_ledger *l, const struct gate_ledger_pkg *p,
				     int64_t now, const char **what);
enum gate_err gate_ledger_write_pkgs(struct gate_ledger *l, const struct gate_ledger_pkg *pkgs,
				     size_t n, gate_ledger_check_fn check,
				     gate_ledger_insert_fn insert, struct gate_error *err);
/* Delete (name, arch) with statement del, insert p's columns name,
 * version, arch, deb_sha256, rule, signers, origin, time as ?1..?8 of
 * ins (further parameters bound by the caller before), *id the new row. */
int gate_ledger_replace_row(struct gate_ledger *l, enum stmt_id del, enum stmt_id ins,
			    const struct gate_ledger_pkg *p, int64_t now, int64_t *id,
			    const char **what);
/* s is len lowercase hex digits. */
bool gate_ledger_is_hex(const char *s, size_t len);
/* What every written package needs: name, version, arch, absolute file
 * paths; field is set to "what[i]" for the caller's further messages. */
enum gate_err gate_ledger_check_names(const struct gate_ledger_pkg *p, const char *what,
				      size_t i, char field[48], struct gate_error *err);
/* gate_ledger_record's checks of one package (field "packages[i]"). */
enum gate_err gate_ledger_check_pkg(const struct gate_ledger_pkg *p, size_t i,
				    struct gate_error *err);

/* ledger_read.c */
void gate_ledger_row_pkg(sqlite3_stmt *s, struct gate_ledger_pkg *p);
/* Step through a file query (PKG_COLS, then path, sha256, size), each row
 * counted in *count and given to fn (may be NULL); resets s. Returns the
 * last sqlite3_step code (SQLITE_DONE when every row was read). */
int gate_ledger_each_file(sqlite3_stmt *s, gate_ledger_file_fn fn, void *ctx, size_t *count);
void gate_ledger_row_file(sqlite3_stmt *s, int i, struct gate_ledger_file *f);

#endif
