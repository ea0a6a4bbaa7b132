/* load_int.h - what the files of the policy loader (load.c,
 * load_trust.c, load_signers.c, load_rules.c) share: the walk's context
 * and the strict readers of YAML nodes. Never installed. */
#ifndef GATE_POLICY_LOAD_INT_H
#define GATE_POLICY_LOAD_INT_H

#include "ynode.h"

struct lctx {
	const char *file;
	char *dir; /* directory of the policy, for relative paths */
	struct gate_policy *p;
	struct gate_error *err;
};

#define FAILN(c, n, ...) gate_yfail((c)->err, (c)->file, (n)->line, (n)->column, __VA_ARGS__)

/* load.c: strict readers of YAML nodes; errors are at file:line:column. */
enum gate_err gate_pl_want(struct lctx *c, const struct gate_ynode *n, enum gate_ynode_type t,
			   const char *what);
/* The caller named apt, exec or ci; GATE_CALLER_ANY for any other name. */
enum gate_caller gate_pl_caller(const char *name);
/* A mapping with gate_pl_scalar, distinct keys, each one of allowed (NULL: any). */
enum gate_err gate_pl_check_map(struct lctx *c, const struct gate_ynode *m, const char *what,
				const char *const *allowed);
/* The value of key in mapping m, or NULL. */
const struct gate_ynode *gate_pl_get(const struct gate_ynode *m, const char *key);
/* A non-empty scalar. */
enum gate_err gate_pl_scalar(struct lctx *c, const struct gate_ynode *n, const char *what,
			     const char **out);
enum gate_err gate_pl_dup_str(struct lctx *c, const struct gate_ynode *n, const char *what,
			      char **out);
/* Relative paths are relative to the policy file's directory. */
enum gate_err gate_pl_path_str(struct lctx *c, const struct gate_ynode *n, const char *what,
			       char **out);
/* A scalar or a list of scalars. */
enum gate_err gate_pl_str_list(struct lctx *c, const struct gate_ynode *n, const char *what,
			       char ***out, size_t *count);

/* load_signers.c: KEY or REKEY of mapping m (at most one, else an error
 * naming kind): an exact value, or an anchored regexp checked for cost and
 * compiled. Neither present: GATE_OK, nothing set. */
enum gate_err gate_pl_match_pair(struct lctx *c, const struct gate_ynode *m, const char *kind,
				 const char *key, const char *rekey, char **exact, char **re,
				 struct gate_regex **compiled);

/* The sections of the schema (load_trust.c, load_signers.c, load_rules.c). */
enum gate_err gate_pl_load_trust(struct lctx *c, const struct gate_ynode *m);
enum gate_err gate_pl_load_signers(struct lctx *c, const struct gate_ynode *m);
enum gate_err gate_pl_load_rules(struct lctx *c, const struct gate_ynode *l);
enum gate_err gate_pl_load_digests(struct lctx *c, const struct gate_ynode *m);

#endif
