/* lazy_curl.h - include instead of <curl/curl.h>: see lazylib.h. */
#ifndef GATE_LAZY_CURL_H
#define GATE_LAZY_CURL_H
#include "lazylib.h"
#undef curl_easy_cleanup
#define curl_easy_cleanup (gate_lazy_curl_tab->curl_easy_cleanup)
#undef curl_easy_getinfo
#define curl_easy_getinfo (gate_lazy_curl_tab->curl_easy_getinfo)
#undef curl_easy_init
/* The first calls of any use fail as libcurl itself would when it cannot
 * be loaded, so the callers' error paths cover it. */
#define curl_easy_init() (gate_lazy_curl() ? gate_lazy_curl_tab->curl_easy_init() : NULL)
#undef curl_easy_perform
#define curl_easy_perform (gate_lazy_curl_tab->curl_easy_perform)
#undef curl_easy_setopt
#define curl_easy_setopt (gate_lazy_curl_tab->curl_easy_setopt)
#undef curl_easy_strerror
#define curl_easy_strerror (gate_lazy_curl_tab->curl_easy_strerror)
#undef curl_global_cleanup
#define curl_global_cleanup (gate_lazy_curl_tab->curl_global_cleanup)
#undef curl_global_init
#define curl_global_init(f)                                                                        \
	(gate_lazy_curl() ? gate_lazy_curl_tab->curl_global_init(f) : CURLE_FAILED_INIT)
#endif
