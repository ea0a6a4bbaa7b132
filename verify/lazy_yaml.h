/* lazy_yaml.h - include instead of <yaml.h>: see lazylib.h. */
#ifndef GATE_LAZY_YAML_H
#define GATE_LAZY_YAML_H
#include "lazylib.h"
#undef yaml_event_delete
#define yaml_event_delete (gate_lazy_yaml_tab->yaml_event_delete)
#undef yaml_get_version
#define yaml_get_version (gate_lazy_yaml_tab->yaml_get_version)
#undef yaml_parser_delete
#define yaml_parser_delete (gate_lazy_yaml_tab->yaml_parser_delete)
#undef yaml_parser_initialize
/* The first call of any use: 0 (as on allocation failure) when libyaml
 * cannot be loaded; entry points say why with gate_lazy_yaml_error(). */
#define yaml_parser_initialize(p)                                                                  \
	(gate_lazy_yaml() ? gate_lazy_yaml_tab->yaml_parser_initialize(p) : 0)
#undef yaml_parser_parse
#define yaml_parser_parse (gate_lazy_yaml_tab->yaml_parser_parse)
#undef yaml_parser_set_input_string
#define yaml_parser_set_input_string (gate_lazy_yaml_tab->yaml_parser_set_input_string)
#endif
