/* lazy_sqlite.h - include instead of <sqlite3.h>: see lazylib.h. Unlike
 * the other libraries, no call here loads SQLite by itself: the entry point
 * (gate_ledger_open) must call gate_lazy_sqlite() before anything else and
 * fail with gate_lazy_sqlite_error() when it returns NULL. */
#ifndef GATE_LAZY_SQLITE_H
#define GATE_LAZY_SQLITE_H
#include "lazylib.h"
#undef sqlite3_bind_int64
#define sqlite3_bind_int64 (gate_lazy_sqlite_tab->sqlite3_bind_int64)
#undef sqlite3_bind_null
#define sqlite3_bind_null (gate_lazy_sqlite_tab->sqlite3_bind_null)
#undef sqlite3_bind_text
#define sqlite3_bind_text (gate_lazy_sqlite_tab->sqlite3_bind_text)
#undef sqlite3_busy_timeout
#define sqlite3_busy_timeout (gate_lazy_sqlite_tab->sqlite3_busy_timeout)
#undef sqlite3_clear_bindings
#define sqlite3_clear_bindings (gate_lazy_sqlite_tab->sqlite3_clear_bindings)
#undef sqlite3_close
#define sqlite3_close (gate_lazy_sqlite_tab->sqlite3_close)
#undef sqlite3_column_int64
#define sqlite3_column_int64 (gate_lazy_sqlite_tab->sqlite3_column_int64)
#undef sqlite3_column_text
#define sqlite3_column_text (gate_lazy_sqlite_tab->sqlite3_column_text)
#undef sqlite3_db_config
#define sqlite3_db_config (gate_lazy_sqlite_tab->sqlite3_db_config)
#undef sqlite3_errmsg
#define sqlite3_errmsg (gate_lazy_sqlite_tab->sqlite3_errmsg)
#undef sqlite3_errstr
#define sqlite3_errstr (gate_lazy_sqlite_tab->sqlite3_errstr)
#undef sqlite3_extended_result_codes
#define sqlite3_extended_result_codes (gate_lazy_sqlite_tab->sqlite3_extended_result_codes)
#undef sqlite3_finalize
#define sqlite3_finalize (gate_lazy_sqlite_tab->sqlite3_finalize)
#undef sqlite3_get_autocommit
#define sqlite3_get_autocommit (gate_lazy_sqlite_tab->sqlite3_get_autocommit)
#undef sqlite3_last_insert_rowid
#define sqlite3_last_insert_rowid (gate_lazy_sqlite_tab->sqlite3_last_insert_rowid)
#undef sqlite3_libversion_number
#define sqlite3_libversion_number (gate_lazy_sqlite_tab->sqlite3_libversion_number)
#undef sqlite3_open_v2
#define sqlite3_open_v2 (gate_lazy_sqlite_tab->sqlite3_open_v2)
#undef sqlite3_prepare_v2
#define sqlite3_prepare_v2 (gate_lazy_sqlite_tab->sqlite3_prepare_v2)
#undef sqlite3_prepare_v3
#define sqlite3_prepare_v3 (gate_lazy_sqlite_tab->sqlite3_prepare_v3)
#undef sqlite3_reset
#define sqlite3_reset (gate_lazy_sqlite_tab->sqlite3_reset)
#undef sqlite3_step
#define sqlite3_step (gate_lazy_sqlite_tab->sqlite3_step)
#endif
