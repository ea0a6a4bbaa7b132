/* apt_hook.h - what the apt hook's files share (internal to the gate
 * executable): its options, and the apt.conf snippet that makes apt call
 * it (apt_snippet.c). */
#ifndef GATE_HOOKS_APT_HOOK_H
#define GATE_HOOKS_APT_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#define HOOK_MAX_EVIDENCE 16
#define HOOK_CONF_DIR "/etc/apt/apt.conf.d"
#define HOOK_CONF_NAME "50gate"
/* First line of every snippet gate writes (and of the one cmake installs):
 * --uninstall removes only files that carry it. */
#define HOOK_MARKER "// gate: apt hook."

struct hook_args {
	const char *policy, *ledger, *now, *conf_dir, *cache_dir, *root;
	const char *dirs[HOOK_MAX_EVIDENCE + 1];
	size_t ndirs;
	bool no_ledger, install, uninstall, post, digest, no_background;
	unsigned jobs;
	long fetch_s;
};

/* --install: write conf_dir/50gate (Pre-Install-Pkgs and Post-Invoke)
 * running this binary with a's options; --uninstall: remove it if gate
 * wrote it. Exit codes. */
int gate_apt_install_hook(const struct hook_args *a, bool ledger_given);
int gate_apt_uninstall_hook(const struct hook_args *a);

#endif
