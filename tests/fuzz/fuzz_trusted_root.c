/* fuzz_trusted_root.c - gate_trusted_root_parse on untrusted bytes (a
 * trusted root is untrusted until verified through TUF), then the lazy
 * decoding of every log key and authority chain it holds. */
#include "internal.h"

#include <openssl/err.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_logs(const struct gate_log *logs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!logs[i].key_name || !logs[i].base_url ||
		    gate_root_find_log(logs, n, logs[i].log_id) == NULL)
			abort();
		const struct gate_pubkey *k = gate_log_key(&logs[i]);
		/* decoded once: the second call returns the cached key */
		if (gate_log_key(&logs[i]) != k || (k && (!k->pkey || !k->spki)))
			abort();
	}
}

static void use_authorities(const struct gate_authority *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		STACK_OF(X509) *chain = gate_authority_chain(&a[i]);
		if (gate_authority_chain(&a[i]) != chain ||
		    (chain && (size_t)sk_X509_num(chain) != a[i].nraw))
			abort();
	}
}

/* Nothing may be left in OpenSSL's error queue: a stale error would be
 * reported as the reason of a later, unrelated failure. */
static int no_stale_errors(void)
{
	if (ERR_peek_error())
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_trusted_root *root = NULL;
	struct gate_error err = {0};
	enum gate_err rc = gate_trusted_root_parse(data, size, &root, &err);
	if (rc != GATE_OK) {
		if (root || err.code != rc)
			abort(); /* no output on failure; err says the same code */
		return no_stale_errors();
	}
	use_logs(root->tlogs, root->ntlogs);
	use_logs(root->ctlogs, root->nctlogs);
	use_authorities(root->cas, root->ncas);
	use_authorities(root->tsas, root->ntsas);
	gate_trusted_root_free(root);
	return no_stale_errors();
}
