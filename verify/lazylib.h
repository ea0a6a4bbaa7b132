/*
 * lazylib.h - libcurl and libarchive, loaded on first use.
 *
 * Both pull in dozens of shared libraries (GnuTLS, Kerberos, LDAP, ICU...)
 * that a process only verifying a signature never needs: loading them at
 * start-up doubled the time and resident memory of `gate verify`. Files that
 * use them include "lazy_curl.h" or "lazy_archive.h" instead of the
 * library's header: every call then goes through a table filled by dlopen
 * on first use. Entry points must call gate_lazy_curl() /
 * gate_lazy_archive() first and fail cleanly when it returns NULL (library
 * not installed); after that the calls are direct.
 */
#ifndef GATE_LAZYLIB_H
#define GATE_LAZYLIB_H

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>

#define GATE_LAZY_CURL_FNS(X)                                                                    \
	X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform)          \
	X(curl_easy_setopt) X(curl_easy_strerror) X(curl_global_cleanup) X(curl_global_init)

#define GATE_LAZY_ARCHIVE_FNS(X)                                                                 \
	X(archive_entry_filetype) X(archive_entry_hardlink) X(archive_entry_pathname)             \
	X(archive_entry_size) X(archive_entry_size_is_set) X(archive_entry_sparse_count)          \
	X(archive_error_string) X(archive_filter_code) X(archive_format) X(archive_read_data)     \
	X(archive_read_data_block) X(archive_read_free) X(archive_read_new)                       \
	X(archive_read_next_header) X(archive_read_open) X(archive_read_open_memory)              \
	X(archive_read_support_filter_bzip2) X(archive_read_support_filter_gzip)                  \
	X(archive_read_support_filter_lz4)                                                        \
	X(archive_read_support_filter_xz) X(archive_read_support_filter_zstd)                     \
	X(archive_read_support_format_ar) X(archive_read_support_format_raw)                      \
	X(archive_read_support_format_tar) X(archive_read_support_format_zip_streamable)          \
	X(archive_set_error)

#define GATE_LAZY_MEMBER(f) __typeof__(f) *f;
struct gate_lazy_curl {
	GATE_LAZY_CURL_FNS(GATE_LAZY_MEMBER)
};
struct gate_lazy_archive {
	GATE_LAZY_ARCHIVE_FNS(GATE_LAZY_MEMBER)
};
#undef GATE_LAZY_MEMBER

/* The loaded table, or NULL when the library cannot be loaded. Thread-safe;
 * the library stays loaded for the life of the process. */
const struct gate_lazy_curl *gate_lazy_curl(void);
const struct gate_lazy_archive *gate_lazy_archive(void);

extern const struct gate_lazy_curl *gate_lazy_curl_tab;
extern const struct gate_lazy_archive *gate_lazy_archive_tab;

#endif
