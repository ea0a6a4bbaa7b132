/* lazy_magic.h - include instead of <magic.h>: see lazylib.h. */
#ifndef GATE_LAZY_MAGIC_H
#define GATE_LAZY_MAGIC_H
#include "lazylib.h"
#undef magic_close
#define magic_close (gate_lazy_magic_tab->magic_close)
#undef magic_descriptor
#define magic_descriptor (gate_lazy_magic_tab->magic_descriptor)
#undef magic_load
#define magic_load (gate_lazy_magic_tab->magic_load)
#undef magic_open
/* The first call of any use: NULL (as on allocation failure) when
 * libmagic cannot be loaded; entry points say why with
 * gate_lazy_magic_error(). */
#define magic_open(f) (gate_lazy_magic() ? gate_lazy_magic_tab->magic_open(f) : NULL)
#undef magic_setparam
#define magic_setparam (gate_lazy_magic_tab->magic_setparam)
#undef magic_version
#define magic_version (gate_lazy_magic_tab->magic_version)
#endif
