/* lazy_archive.h - include instead of <archive.h>: see lazylib.h. */
#ifndef GATE_LAZY_ARCHIVE_H
#define GATE_LAZY_ARCHIVE_H
#include "lazylib.h"
#undef archive_entry_filetype
#define archive_entry_filetype (gate_lazy_archive_tab->archive_entry_filetype)
#undef archive_entry_hardlink
#define archive_entry_hardlink (gate_lazy_archive_tab->archive_entry_hardlink)
#undef archive_entry_pathname
#define archive_entry_pathname (gate_lazy_archive_tab->archive_entry_pathname)
#undef archive_entry_size
#define archive_entry_size (gate_lazy_archive_tab->archive_entry_size)
#undef archive_entry_size_is_set
#define archive_entry_size_is_set (gate_lazy_archive_tab->archive_entry_size_is_set)
#undef archive_entry_sparse_count
#define archive_entry_sparse_count (gate_lazy_archive_tab->archive_entry_sparse_count)
#undef archive_error_string
#define archive_error_string (gate_lazy_archive_tab->archive_error_string)
#undef archive_filter_code
#define archive_filter_code (gate_lazy_archive_tab->archive_filter_code)
#undef archive_format
#define archive_format (gate_lazy_archive_tab->archive_format)
#undef archive_read_data
#define archive_read_data (gate_lazy_archive_tab->archive_read_data)
#undef archive_read_data_block
#define archive_read_data_block (gate_lazy_archive_tab->archive_read_data_block)
#undef archive_read_free
#define archive_read_free (gate_lazy_archive_tab->archive_read_free)
#undef archive_read_new
/* The first call of any use: NULL (as on allocation failure) when
 * libarchive cannot be loaded, so the callers' error paths cover it. */
#define archive_read_new() (gate_lazy_archive() ? gate_lazy_archive_tab->archive_read_new() : NULL)
#undef archive_read_next_header
#define archive_read_next_header (gate_lazy_archive_tab->archive_read_next_header)
#undef archive_read_open
#define archive_read_open (gate_lazy_archive_tab->archive_read_open)
#undef archive_read_open_memory
#define archive_read_open_memory (gate_lazy_archive_tab->archive_read_open_memory)
#undef archive_read_support_filter_lz4
#define archive_read_support_filter_lz4 (gate_lazy_archive_tab->archive_read_support_filter_lz4)
#undef archive_read_support_filter_bzip2
#define archive_read_support_filter_bzip2 (gate_lazy_archive_tab->archive_read_support_filter_bzip2)
#undef archive_read_support_filter_gzip
#define archive_read_support_filter_gzip (gate_lazy_archive_tab->archive_read_support_filter_gzip)
#undef archive_read_support_filter_xz
#define archive_read_support_filter_xz (gate_lazy_archive_tab->archive_read_support_filter_xz)
#undef archive_read_support_filter_zstd
#define archive_read_support_filter_zstd (gate_lazy_archive_tab->archive_read_support_filter_zstd)
#undef archive_read_support_format_ar
#define archive_read_support_format_ar (gate_lazy_archive_tab->archive_read_support_format_ar)
#undef archive_read_support_format_raw
#define archive_read_support_format_raw (gate_lazy_archive_tab->archive_read_support_format_raw)
#undef archive_read_support_format_tar
#define archive_read_support_format_tar (gate_lazy_archive_tab->archive_read_support_format_tar)
#undef archive_read_support_format_zip_streamable
#define archive_read_support_format_zip_streamable                                                 \
	(gate_lazy_archive_tab->archive_read_support_format_zip_streamable)
#undef archive_set_error
#define archive_set_error (gate_lazy_archive_tab->archive_set_error)
#endif
