/* ynode.h - internal: the bounded YAML node tree the policy loader reads. */
#ifndef GATE_YNODE_H
#define GATE_YNODE_H

#include "gate_util.h"
#include "policy_model.h"

enum gate_ynode_type { GATE_Y_SCALAR, GATE_Y_MAP, GATE_Y_SEQ };

struct gate_ynode {
	enum gate_ynode_type type;
	char *s; /* scalar text (NUL-terminated, no embedded NUL) */
	size_t len;
	bool quoted;
	unsigned line, column;
	struct gate_ynode **kids; /* maps: key, value, key, value... */
	size_t n;
};

/* Parse one YAML document into a tree. Errors are GATE_E_POLICY with
 * file:line:column, GATE_E_UNSUPPORTED when libyaml cannot be loaded. */
enum gate_err gate_yaml_load(const char *file, const uint8_t *buf, size_t len,
			     struct gate_ynode **out, struct gate_error *err);
void gate_ynode_free(struct gate_ynode *n);
/* Policy error at a position. */
enum gate_err gate_yfail(struct gate_error *err, const char *file, unsigned line, unsigned column,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
