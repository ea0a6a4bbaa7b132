/* deb822.h - a reader of Debian control-style text (dpkg's status file,
 * apt's Release and Packages indexes): stanzas of "Key: value" fields with
 * continuation lines, separated by blank lines. Untrusted input: works on
 * (pointer, length) without needing a NUL, bounds every line. Internal. */
#ifndef GATE_DEB822_H
#define GATE_DEB822_H

#include <stdbool.h>
#include <stddef.h>

#define GATE_D822_MAX_LINE (1u * 1024 * 1024) /* one line, bytes */

struct gate_d822 {
	const char *p, *end;
};

/* Next field of the current stanza: key, and its value with continuation
 * lines (from after "Key:" to the end of the last continuation line,
 * untrimmed). Returns 1 with a field, 0 at the end of the stanza (blank
 * line or end of input; *eof tells which), -1 on malformed input (a line
 * over GATE_D822_MAX_LINE, a continuation without a field, no colon).
 * Comment lines ('#') are skipped. */
int gate_d822_field(struct gate_d822 *d, const char **k, size_t *kl, const char **v, size_t *vl,
		    bool *eof);
/* Next line of a multi-line value (as given by gate_d822_field), without
 * its newline; false at the end. */
bool gate_d822_value_line(const char **v, const char *end, const char **l, size_t *ll);
/* Case-insensitive key comparison, as deb822 keys are. */
bool gate_d822_key_is(const char *k, size_t kl, const char *want);
/* Strip leading and trailing white space. */
void gate_d822_trim(const char **v, size_t *vl);

#endif
