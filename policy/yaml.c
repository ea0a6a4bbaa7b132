/* yaml.c - libyaml events into a small bounded node tree with positions.
 * Anchors, aliases, tags and multiple documents are rejected, so a policy
 * can never expand (no billion laughs) and every value has one spelling. */
#include "ynode.h"
#include "lazy_yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gate_ynode_free(struct gate_ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		gate_ynode_free(n->kids[i]);
	free(n->kids);
	free(n->s);
	free(n);
}

enum gate_err gate_yfail(struct gate_error *err, const char *file, unsigned line, unsigned column,
			 const char *fmt, ...)
{
	char msg[GATE_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!err)
		return GATE_E_POLICY;
	gate_fail(err, GATE_E_POLICY, NULL, NULL, "%s", msg);
	snprintf(err->file, sizeof err->file, "%s", file);
	err->line = line;
	err->column = column;
	return GATE_E_POLICY;
}

struct yctx {
	yaml_parser_t parser;
	const char *file;
	size_t items; /* total nodes, capped */
	struct gate_error *err;
};

static enum gate_err node_new(struct yctx *c, enum gate_ynode_type t, const yaml_mark_t *m,
			      struct gate_ynode **out)
{
	if (++c->items > GATE_POLICY_MAX_ITEMS * 4)
		return gate_yfail(c->err, c->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
				  "policy has too many values (limit %u)",
				  GATE_POLICY_MAX_ITEMS * 4);
	struct gate_ynode *n = calloc(1, sizeof(*n));
	if (!n)
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	n->type = t;
	n->line = (unsigned)m->line + 1;
	n->column = (unsigned)m->column + 1;
	*out = n;
	return GATE_OK;
}

static enum gate_err push_kid(struct yctx *c, struct gate_ynode *parent, struct gate_ynode *kid)
{
	if (parent->n >= GATE_POLICY_MAX_ITEMS * 2) {
		unsigned l = kid->line, col = kid->column;
		gate_ynode_free(kid);
		return gate_yfail(c->err, c->file, l, col, "too many entries (limit %u)",
				  GATE_POLICY_MAX_ITEMS);
	}
	struct gate_ynode **k = realloc(parent->kids, (parent->n + 1) * sizeof(*k));
	if (!k) {
		gate_ynode_free(kid);
		return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	}
	parent->kids = k;
	parent->kids[parent->n++] = kid;
	return GATE_OK;
}

static enum gate_err next_event(struct yctx *c, yaml_event_t *ev)
{
	if (yaml_parser_parse(&c->parser, ev))
		return GATE_OK;
	const yaml_mark_t *m = &c->parser.problem_mark;
	return gate_yfail(c->err, c->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
			  "YAML syntax error: %s",
			  c->parser.problem ? c->parser.problem : "unknown problem");
}

static enum gate_err parse_node(struct yctx *c, yaml_event_t *ev, unsigned depth,
				struct gate_ynode **out);

/* Children until the matching end event. Maps keep key, value, key, value. */
static enum gate_err parse_children(struct yctx *c, struct gate_ynode *n, yaml_event_type_t end,
				    unsigned depth)
{
	for (;;) {
		yaml_event_t ev;
		enum gate_err rc = next_event(c, &ev);
		if (rc != GATE_OK)
			return rc;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return GATE_OK;
		}
		struct gate_ynode *kid = NULL;
		rc = parse_node(c, &ev, depth + 1, &kid);
		yaml_event_delete(&ev);
		if (rc != GATE_OK)
			return rc;
		if ((rc = push_kid(c, n, kid)) != GATE_OK)
			return rc;
	}
}

static bool has_anchor_or_tag(const yaml_event_t *ev, const char **what)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor)
			return *what = "anchor", true;
		if (ev->data.scalar.tag)
			return *what = "tag", true;
		return false;
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.anchor)
			return *what = "anchor", true;
		if (ev->data.sequence_start.tag)
			return *what = "tag", true;
		return false;
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.anchor)
			return *what = "anchor", true;
		if (ev->data.mapping_start.tag)
			return *what = "tag", true;
		return false;
	default:
		return false;
	}
}

static enum gate_err parse_node(struct yctx *c, yaml_event_t *ev, unsigned depth,
				struct gate_ynode **out)
{
	const yaml_mark_t *m = &ev->start_mark;
	const char *what = NULL;
	struct gate_ynode *n = NULL;
	enum gate_err rc;
	if (depth > GATE_POLICY_MAX_DEPTH)
		return gate_yfail(c->err, c->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
				  "nested deeper than %u levels", GATE_POLICY_MAX_DEPTH);
	if (ev->type == YAML_ALIAS_EVENT)
		return gate_yfail(c->err, c->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
				  "YAML aliases are not allowed in a policy");
	if (has_anchor_or_tag(ev, &what))
		return gate_yfail(c->err, c->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
				  "YAML %ss are not allowed in a policy", what);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if ((rc = node_new(c, GATE_Y_SCALAR, m, &n)) != GATE_OK)
			return rc;
		n->len = ev->data.scalar.length;
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		if (!(n->s = malloc(n->len + 1))) {
			gate_ynode_free(n);
			return gate_fail(c->err, GATE_E_NOMEM, NULL, NULL, "out of memory");
		}
		memcpy(n->s, ev->data.scalar.value, n->len);
		n->s[n->len] = '\0';
		if (strlen(n->s) != n->len) {
			gate_ynode_free(n);
			return gate_yfail(c->err, c->file, (unsigned)m->line + 1,
					  (unsigned)m->column + 1,
					  "value contains a NUL character");
		}
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		if ((rc = node_new(c, map ? GATE_Y_MAP : GATE_Y_SEQ, m, &n)) != GATE_OK)
			return rc;
		rc = parse_children(c, n, map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT,
				    depth);
		if (rc != GATE_OK) {
			gate_ynode_free(n);
			return rc;
		}
		break;
	}
	default:
		return gate_yfail(c->err, c->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
				  "unexpected YAML event");
	}
	*out = n;
	return GATE_OK;
}

/* Expect an event of type t, discarding it. */
static enum gate_err expect(struct yctx *c, yaml_event_type_t t, const char *what)
{
	yaml_event_t ev;
	enum gate_err rc = next_event(c, &ev);
	if (rc != GATE_OK)
		return rc;
	bool ok = ev.type == t;
	unsigned l = (unsigned)ev.start_mark.line + 1, col = (unsigned)ev.start_mark.column + 1;
	yaml_event_delete(&ev);
	return ok ? GATE_OK : gate_yfail(c->err, c->file, l, col, "%s", what);
}

enum gate_err gate_yaml_load(const char *file, const uint8_t *buf, size_t len,
			     struct gate_ynode **out, struct gate_error *err)
{
	struct yctx c = {.file = file, .err = err};
	struct gate_ynode *root = NULL;
	yaml_event_t ev;
	enum gate_err rc;
	if (len > GATE_POLICY_MAX_SIZE)
		return gate_yfail(err, file, 1, 1, "policy is over %u bytes", GATE_POLICY_MAX_SIZE);
	/* libyaml is loaded on first use (lazylib.h). */
	if (!gate_lazy_yaml())
		return gate_fail(err, GATE_E_UNSUPPORTED, NULL, NULL, "cannot read policy %s: %s",
				 file, gate_lazy_yaml_error());
	if (!yaml_parser_initialize(&c.parser))
		return gate_fail(err, GATE_E_NOMEM, NULL, NULL, "out of memory");
	yaml_parser_set_input_string(&c.parser, buf, len);
	if ((rc = expect(&c, YAML_STREAM_START_EVENT, "not a YAML stream")) != GATE_OK)
		goto out;
	if ((rc = next_event(&c, &ev)) != GATE_OK)
		goto out;
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		yaml_event_delete(&ev);
		rc = gate_yfail(err, file, 1, 1, "policy is empty");
		goto out;
	}
	yaml_event_delete(&ev);
	if ((rc = next_event(&c, &ev)) != GATE_OK)
		goto out;
	rc = parse_node(&c, &ev, 0, &root);
	yaml_event_delete(&ev);
	if (rc != GATE_OK)
		goto out;
	if ((rc = expect(&c, YAML_DOCUMENT_END_EVENT, "unexpected content")) != GATE_OK ||
	    (rc = expect(&c, YAML_STREAM_END_EVENT,
			 "a policy is one YAML document; found another")) != GATE_OK)
		goto out;
	*out = root;
	root = NULL;
out:
	gate_ynode_free(root);
	yaml_parser_delete(&c.parser);
	return rc;
}
