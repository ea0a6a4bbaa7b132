/*
 * lazylib.h - shared libraries loaded on first use: libcurl, libarchive,
 * libmagic, libyaml and SQLite.
 *
 * libcurl and libarchive pull in dozens of shared libraries (GnuTLS,
 * Kerberos, LDAP, ICU...) and libmagic, libyaml and SQLite five more, none of
 * which a process only verifying a signature needs: loading and relocating
 * them at start-up was most of the start-up time and resident memory of
 * `gate verify`. Files that use one include its "lazy_<name>.h" instead of
 * the library's header: every call then goes through a table filled by
 * dlopen on first use.
 *
 * For each library NAME of GATE_LAZY_LIBS this declares
 *   struct gate_lazy_NAME                         the table, one member per function;
 *   const struct gate_lazy_NAME *gate_lazy_NAME(void)  load (once, thread-safe) and
 *                                                  return the table, NULL when the library
 *                                                  cannot be loaded or is unusable;
 *   const char *gate_lazy_NAME_error(void)        why it returned NULL (static text), or
 *                                                  NULL when the library is loaded;
 *   gate_lazy_NAME_tab                            the table once loaded (the headers' macros).
 * Entry points must call gate_lazy_NAME() first and fail cleanly, with
 * gate_lazy_NAME_error(), when it returns NULL; after that the calls are
 * direct. The library stays loaded for the life of the process.
 *
 * Adding a function: add it to the library's list below and a #define to
 * its lazy_<name>.h. Adding a library: a list, a line in GATE_LAZY_LIBS, a
 * lazy_<name>.h and, when its ABI or behaviour changed within one SONAME, a
 * version check in lazylib.c.
 */
#ifndef GATE_LAZYLIB_H
#define GATE_LAZYLIB_H

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <magic.h>
#include <sqlite3.h>
#include <yaml.h>

#define GATE_LAZY_CURL_FNS(X)                                                                      \
	X(curl_easy_cleanup)                                                                       \
	X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform) X(curl_easy_setopt)            \
		X(curl_easy_strerror) X(curl_global_cleanup) X(curl_global_init)

#define GATE_LAZY_ARCHIVE_FNS(X)                                                                            \
	X(archive_entry_filetype)                                                                           \
	X(archive_entry_hardlink) X(archive_entry_pathname) X(archive_entry_size) X(                        \
		archive_entry_size_is_set) X(archive_entry_sparse_count) X(archive_error_string)            \
		X(archive_filter_code) X(archive_format) X(archive_read_data) X(                            \
			archive_read_data_block) X(archive_read_free) X(archive_read_new)                   \
			X(archive_read_next_header) X(archive_read_open) X(                                 \
				archive_read_open_memory) X(archive_read_support_filter_bzip2)              \
				X(archive_read_support_filter_gzip) X(                                      \
					archive_read_support_filter_lz4)                                    \
					X(archive_read_support_filter_xz) X(                                \
						archive_read_support_filter_zstd)                           \
						X(archive_read_support_format_ar) X(                        \
							archive_read_support_format_raw)                    \
							X(archive_read_support_format_tar) X(               \
								archive_read_support_format_zip_streamable) \
								X(archive_set_error)

#define GATE_LAZY_MAGIC_FNS(X)                                                                     \
	X(magic_close)                                                                             \
	X(magic_descriptor) X(magic_load) X(magic_open) X(magic_setparam) X(magic_version)

#define GATE_LAZY_YAML_FNS(X)                                                                      \
	X(yaml_event_delete)                                                                       \
	X(yaml_get_version) X(yaml_parser_delete) X(yaml_parser_initialize) X(yaml_parser_parse)   \
		X(yaml_parser_set_input_string)

#define GATE_LAZY_SQLITE_FNS(X)                                                                    \
	X(sqlite3_bind_int64)                                                                      \
	X(sqlite3_bind_null) X(sqlite3_bind_text) X(sqlite3_busy_timeout) X(                       \
		sqlite3_clear_bindings) X(sqlite3_close) X(sqlite3_column_int64)                   \
		X(sqlite3_column_text) X(sqlite3_db_config) X(sqlite3_errmsg) X(sqlite3_errstr)    \
			X(sqlite3_extended_result_codes) X(sqlite3_finalize)                       \
				X(sqlite3_get_autocommit) X(sqlite3_last_insert_rowid)             \
					X(sqlite3_libversion_number) X(sqlite3_open_v2)            \
						X(sqlite3_prepare_v2) X(sqlite3_prepare_v3)        \
							X(sqlite3_reset) X(sqlite3_step)

/* name, SONAME (Debian 12's), function list */
#define GATE_LAZY_LIBS(L)                                                                          \
	L(curl, "libcurl.so.4", GATE_LAZY_CURL_FNS)                                                \
	L(archive, "libarchive.so.13", GATE_LAZY_ARCHIVE_FNS)                                      \
	L(magic, "libmagic.so.1", GATE_LAZY_MAGIC_FNS)                                             \
	L(yaml, "libyaml-0.so.2", GATE_LAZY_YAML_FNS)                                              \
	L(sqlite, "libsqlite3.so.0", GATE_LAZY_SQLITE_FNS)

#define GATE_LAZY_MEMBER(f) __typeof__(f) *f;
#define GATE_LAZY_DECLARE(name, soname, fns)                                                       \
	struct gate_lazy_##name {                                                                  \
		fns(GATE_LAZY_MEMBER)                                                              \
	};                                                                                         \
	const struct gate_lazy_##name *gate_lazy_##name(void);                                     \
	const char *gate_lazy_##name##_error(void);                                                \
	extern const struct gate_lazy_##name *gate_lazy_##name##_tab;
GATE_LAZY_LIBS(GATE_LAZY_DECLARE)
#undef GATE_LAZY_DECLARE
#undef GATE_LAZY_MEMBER

#endif
