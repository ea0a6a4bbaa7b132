/* fake_sqlite.c - a libsqlite3.so.0 that says it is 3.22.0, for
 * test_lazylib (once gate no longer links SQLite): gate must refuse a
 * library that would ignore SQLITE_OPEN_NOFOLLOW. Only the names matter:
 * nothing but the version is ever called. */
#define STUB(f)                                                                                  \
	int f(void);                                                                              \
	int f(void)                                                                               \
	{                                                                                         \
		return 1;                                                                         \
	}
STUB(sqlite3_bind_int64)
STUB(sqlite3_bind_null)
STUB(sqlite3_bind_text)
STUB(sqlite3_busy_timeout)
STUB(sqlite3_clear_bindings)
STUB(sqlite3_close)
STUB(sqlite3_column_int64)
STUB(sqlite3_column_text)
STUB(sqlite3_db_config)
STUB(sqlite3_errmsg)
STUB(sqlite3_errstr)
STUB(sqlite3_extended_result_codes)
STUB(sqlite3_finalize)
STUB(sqlite3_get_autocommit)
STUB(sqlite3_last_insert_rowid)
STUB(sqlite3_open_v2)
STUB(sqlite3_prepare_v2)
STUB(sqlite3_prepare_v3)
STUB(sqlite3_reset)
STUB(sqlite3_step)

int sqlite3_libversion_number(void);
int sqlite3_libversion_number(void)
{
	return 3022000;
}
