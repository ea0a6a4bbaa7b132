/* err.c - error codes and messages. */
#include "internal.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const err_text[] = {
	[GATE_OK] = "ok",
	[GATE_E_INTERNAL] = "internal error",
	[GATE_E_NOMEM] = "out of memory",
	[GATE_E_USAGE] = "usage error",
	[GATE_E_IO] = "input/output error",
	[GATE_E_TOO_LARGE] = "input too large",
	[GATE_E_PARSE] = "malformed input",
	[GATE_E_UNSUPPORTED] = "unsupported",
	[GATE_E_TRUST_ROOT] = "trusted root rejected",
	[GATE_E_SIGNATURE] = "signature does not verify",
	[GATE_E_DIGEST] = "digest mismatch",
	[GATE_E_TLOG] = "transparency log entry rejected",
	[GATE_E_CHECKPOINT] = "checkpoint rejected",
	[GATE_E_INCLUSION] = "inclusion proof rejected",
	[GATE_E_TIMESTAMP] = "timestamp rejected",
	[GATE_E_NO_TIME] = "no verified signing time",
	[GATE_E_CERT] = "certificate rejected",
	[GATE_E_SCT] = "certificate transparency rejected",
	[GATE_E_IDENTITY] = "identity mismatch",
	[GATE_E_MISMATCH] = "evidence inconsistent",
	[GATE_E_KEY] = "key rejected",
	[GATE_E_POLICY] = "policy rejected",
	[GATE_E_DENIED] = "denied",
	[GATE_E_EXPIRED] = "metadata expired",
};

const char *gate_err_str(enum gate_err code)
{
	if ((unsigned)code < sizeof(err_text) / sizeof(err_text[0]) && err_text[code])
		return err_text[code];
	return "unknown error";
}

bool gate_err_is_input(enum gate_err code)
{
	switch (code) {
	case GATE_E_USAGE:
	case GATE_E_IO:
	case GATE_E_TOO_LARGE:
	case GATE_E_PARSE:
	case GATE_E_UNSUPPORTED:
	case GATE_E_TRUST_ROOT:
	case GATE_E_POLICY:
	case GATE_E_NOMEM:
	case GATE_E_INTERNAL:
		return true;
	default:
		return false;
	}
}

/* Copy src into dst, replacing control and non-ASCII bytes with '?', so that
 * text from untrusted input can never forge output lines or terminal
 * escapes. */
static void copy_escaped(char *dst, size_t cap, const char *src)
{
	size_t j = 0;
	for (size_t i = 0; src[i] && j + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[j] = '\0';
}

enum gate_err gate_fail(struct gate_error *err, enum gate_err code, const char *rule,
			const char *field, const char *fmt, ...)
{
	if (!err)
		return code;
	char tmp[GATE_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	err->code = code;
	copy_escaped(err->rule, sizeof(err->rule), rule ? rule : "");
	copy_escaped(err->field, sizeof(err->field), field ? field : "");
	copy_escaped(err->msg, sizeof(err->msg), tmp);
	return code;
}

void gate_fail_ssl(struct gate_error *err)
{
	unsigned long e = ERR_peek_last_error();
	if (!err || !e) {
		ERR_clear_error();
		return;
	}
	char buf[160], tmp[GATE_ERR_MSG_MAX + 200];
	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(tmp, sizeof(tmp), "%s (%s)", err->msg, buf);
	copy_escaped(err->msg, sizeof(err->msg), tmp);
	ERR_clear_error();
}
