/* fake_yaml.c - a libyaml-0.so.2 that says it is 0.1.7, for test_lazylib:
 * gate must refuse a series whose structure layout it was not built for. */
#include <yaml.h>

void yaml_get_version(int *major, int *minor, int *patch)
{
	*major = 0;
	*minor = 1;
	*patch = 7;
}

int yaml_parser_initialize(yaml_parser_t *parser)
{
	(void)parser;
	return 0;
}

void yaml_parser_delete(yaml_parser_t *parser)
{
	(void)parser;
}

void yaml_parser_set_input_string(yaml_parser_t *parser, const unsigned char *input, size_t size)
{
	(void)parser;
	(void)input;
	(void)size;
}

int yaml_parser_parse(yaml_parser_t *parser, yaml_event_t *event)
{
	(void)parser;
	(void)event;
	return 0;
}

void yaml_event_delete(yaml_event_t *event)
{
	(void)event;
}
