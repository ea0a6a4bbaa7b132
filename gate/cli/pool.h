/* pool.h - run n independent jobs on a few threads, with a progress bar on
 * stderr when it is a terminal. The same approach as `gate check`'s pool
 * (check_cmd.c), factored out for other subcommands (`gate hook apt`). */
#ifndef GATE_CLI_POOL_H
#define GATE_CLI_POOL_H

#include <stdbool.h>
#include <stddef.h>

#define GATE_POOL_MAX_JOBS 256

/* One job: index i of n. Called from any thread, each i exactly once. */
typedef void (*gate_pool_fn)(void *ctx, size_t i);

/* Run fn(ctx, 0..n-1) on min(jobs, n) threads (capped at
 * GATE_POOL_MAX_JOBS; in the calling thread when none can start) and
 * return when all are done. With label, a bar "label [####....] k/n R/s"
 * (R jobs done a second) is drawn on stderr when stderr is a terminal: k
 * never goes back, redrawn at most ten times a second, the last count
 * always, then erased. */
void gate_cli_pool_run(size_t n, unsigned jobs, const char *label, gate_pool_fn fn, void *ctx);

/* The number of online CPUs, at least 1. */
unsigned gate_cli_ncpus(void);

#endif
