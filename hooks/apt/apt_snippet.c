/* apt_snippet.c - `gate hook apt --install|--uninstall`: the apt.conf
 * snippet (50gate) that makes apt run the hook before dpkg
 * (DPkg::Pre-Install-Pkgs) and after it (DPkg::Post-Invoke). */
#include "apt_hook.h"
#include "cli.h"
#include "gate_util.h"
#include "policy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* apt runs the hook through sh -c and the snippet quotes it in "...": keep
 * every word to characters that mean nothing to either. */
static bool safe_word(const char *s)
{
	if (!*s)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._+=:@,%-", *p)))
			return false;
	return true;
}

static bool append(char **buf, const char *opt, const char *val)
{
	char *n = NULL;
	if (asprintf(&n, "%s %s%s%s", *buf, opt, val ? " " : "", val ? val : "") < 0)
		return false;
	free(*buf);
	*buf = n;
	return true;
}

/* "EXE hook apt OPTIONS" for the snippet, or NULL with a message. */
static char *hook_command(const struct hook_args *a, bool ledger_given)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		fprintf(stderr, "gate hook apt: cannot find this binary: %s\n", strerror(errno));
		return NULL;
	}
	exe[n] = '\0';
	const char *words[HOOK_MAX_EVIDENCE + 5];
	size_t nw = 0;
	words[nw++] = exe;
	if (a->policy)
		words[nw++] = a->policy;
	if (ledger_given)
		words[nw++] = a->ledger;
	if (a->cache_dir)
		words[nw++] = a->cache_dir;
	if (a->root)
		words[nw++] = a->root;
	for (size_t i = 0; i < a->ndirs; i++)
		words[nw++] = a->dirs[i];
	for (size_t i = 0; i < nw; i++) {
		bool url = strstr(words[i], "://") != NULL;
		if (!safe_word(words[i]) || (!url && words[i][0] != '/')) {
			fprintf(stderr,
				"gate hook apt: '%s' cannot go into the apt configuration: give "
				"absolute paths made of letters, digits and /._+=:@,%%-\n",
				words[i]);
			return NULL;
		}
	}
	char *cmd = NULL;
	if (asprintf(&cmd, "%s hook apt", exe) < 0)
		return NULL;
	bool ok = (!a->policy || append(&cmd, "--policy", a->policy)) &&
		  (!ledger_given || append(&cmd, "--ledger", a->ledger)) &&
		  (!a->root || append(&cmd, "--root", a->root)) &&
		  (!a->no_ledger || append(&cmd, "--no-ledger", NULL)) &&
		  (!a->no_background || append(&cmd, "--no-background", NULL)) &&
		  (!a->cache_dir || append(&cmd, "--cache-dir", a->cache_dir));
	for (size_t i = 0; ok && i < a->ndirs; i++)
		ok = append(&cmd, "--evidence", a->dirs[i]);
	if (!ok) {
		free(cmd);
		return NULL;
	}
	return cmd;
}

/* 1: a regular file gate wrote; 0: absent; -1: something else (refused). */
static int snippet_state(const char *path)
{
	struct stat st;
	char line[64] = "";
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(st.st_mode))
		return -1;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	bool ours =
		fgets(line, sizeof line, f) && strncmp(line, HOOK_MARKER, strlen(HOOK_MARKER)) == 0;
	fclose(f);
	return ours ? 1 : -1;
}

/* Write the snippet next to its final name and rename it into place: apt
 * never reads half of it (the temporary name ends in ".dpkg-tmp", which apt
 * ignores in apt.conf.d). */
static int write_snippet(const char *path, const char *cmd, bool post)
{
	char *text = NULL;
	struct gate_error e = {0};
	int rc = GATE_EXIT_USAGE;
	size_t sp = strcspn(cmd, " ");
	if (asprintf(&text,
		     HOOK_MARKER
		     " Written by `gate hook apt --install`; removed by\n"
		     "// `gate hook apt --uninstall`. apt runs the gate on every .deb before dpkg\n"
		     "// unpacks it; a denial stops the whole transaction. After dpkg, the\n"
		     "// ledger records what dpkg installed.\n"
		     "DPkg::Pre-Install-Pkgs {\"%s\";};\n"
		     "DPkg::Tools::Options::%.*s::Version \"3\";\n"
		     "%s%s%s",
		     cmd, (int)sp, cmd, post ? "DPkg::Post-Invoke {\"" : "", post ? cmd : "",
		     post ? " --post-invoke\";};\n" : "") < 0) {
		text = NULL;
		goto out;
	}
	if (gate_atomic_write_file(path, "." HOOK_CONF_NAME ".XXXXXX.dpkg-tmp", text, strlen(text),
				   0644, 0, &e) != GATE_OK) {
		fprintf(stderr, "gate hook apt: cannot write %s: %s\n", path, e.msg);
		goto out;
	}
	rc = GATE_EXIT_OK;
out:
	free(text);
	return rc;
}

/* The hook must not be installed on a policy that does not load: every
 * apt transaction would then be refused. true when the policy the hook will
 * read loads (the error, FILE:LINE:COLUMN, is printed otherwise). */
static bool policy_loads(const struct hook_args *a)
{
	if (!a->policy && access(GATE_POLICY_DEFAULT, F_OK) != 0 && errno == ENOENT) {
		printf("gate: note: " GATE_POLICY_DEFAULT " does not exist: until it does, the hook "
		       "checks nothing and warns on every transaction\n");
		return true;
	}
	struct gate_policy *p = gate_cli_load_policy(a->policy);
	if (!p) {
		fprintf(stderr, "gate hook apt: not installing the hook: the policy %s does not "
				"load (see above; check it with 'gate policy lint')\n",
			a->policy ? a->policy : GATE_POLICY_DEFAULT);
		return false;
	}
	gate_policy_free(p);
	return true;
}

int gate_apt_install_hook(const struct hook_args *a, bool ledger_given)
{
	char *path = NULL, *cmd = NULL;
	int rc = GATE_EXIT_USAGE;
	if (asprintf(&path, "%s/" HOOK_CONF_NAME, a->conf_dir) < 0)
		return rc;
	int st = snippet_state(path);
	if (st < 0) {
		fprintf(stderr,
			"gate hook apt: %s exists and was not written by gate: not replacing it\n",
			path);
	} else if ((cmd = hook_command(a, ledger_given)) && policy_loads(a) &&
		   (rc = write_snippet(path, cmd, !a->no_ledger)) == GATE_EXIT_OK) {
		printf("gate: %s the apt hook %s: %s\n", st ? "replaced" : "installed", path, cmd);
	}
	free(cmd);
	free(path);
	return rc;
}

int gate_apt_uninstall_hook(const struct hook_args *a)
{
	char *path = NULL;
	int rc = GATE_EXIT_USAGE;
	if (asprintf(&path, "%s/" HOOK_CONF_NAME, a->conf_dir) < 0)
		return rc;
	int st = snippet_state(path);
	if (st == 0) {
		printf("gate: no apt hook in %s: nothing to remove\n", a->conf_dir);
		rc = GATE_EXIT_OK;
	} else if (st < 0) {
		fprintf(stderr, "gate hook apt: %s was not written by gate: not removing it\n",
			path);
	} else if (unlink(path) != 0) {
		fprintf(stderr, "gate hook apt: cannot remove %s: %s\n", path, strerror(errno));
	} else {
		printf("gate: removed the apt hook %s\n", path);
		rc = GATE_EXIT_OK;
	}
	free(path);
	return rc;
}
