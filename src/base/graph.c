/* SPDX-License-Identifier: Apache-2.0 */
/* Tasks in dependency order, by a small pool of threads: the stages of a
 * build, the steps of a flow. */
#include "base.h"

#include <pthread.h>
#include <string.h>

enum task_state { TASK_PENDING, TASK_RUNNING, TASK_DONE, TASK_SKIPPED };

struct graph {
	size_t n;
	const struct graph_ops *ops;
	void *ctx;
	enum task_state *state;
	unsigned running;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct petra_error *error; /* the first failure */
};

/* 1: ready, 0: waits, -1: never (a dependency failed or is not wanted). */
static int ready(struct graph *g, size_t t)
{
	size_t n = g->ops->n_deps(g->ctx, t);
	int r = 1;
	for (size_t k = 0; k < n; k++) {
		size_t d = g->ops->dep(g->ctx, t, k);
		if (d >= g->n || g->state[d] == TASK_SKIPPED)
			return -1;
		if (g->state[d] != TASK_DONE)
			r = 0;
	}
	return r;
}

static void *worker(void *arg)
{
	struct graph *g = arg;
	pthread_mutex_lock(&g->lock);
	for (;;) {
		if (g->error)
			break;
		size_t next = g->n;
		bool pending = false;
		for (size_t t = 0; t < g->n; t++) {
			if (g->state[t] != TASK_PENDING)
				continue;
			int state = ready(g, t);
			if (state < 0) {
				g->state[t] = TASK_SKIPPED;
				continue;
			}
			pending = true;
			if (state == 1) {
				next = t;
				break;
			}
		}
		if (!pending)
			break;
		if (next == g->n) {
			if (!g->running) {
				/* Nothing runs and nothing can start: a cycle. */
				petra_error_set(&g->error, EDEADLK, "tasks wait for each other");
				pthread_cond_broadcast(&g->changed);
				break;
			}
			pthread_cond_wait(&g->changed, &g->lock);
			continue;
		}
		g->state[next] = TASK_RUNNING;
		g->running++;
		pthread_mutex_unlock(&g->lock);
		struct petra_error *e = NULL;
		int r = g->ops->run(g->ctx, next, &e);
		pthread_mutex_lock(&g->lock);
		g->running--;
		g->state[next] = r == 0 ? TASK_DONE : TASK_SKIPPED;
		if (r < 0 && !e)
			petra_error_set(&e, -r, "task %zu failed", next);
		if (r < 0 && !g->error)
			g->error = steal_pointer(&e);
		petra_error_free(e);
		pthread_cond_broadcast(&g->changed);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int graph_run(size_t n, unsigned jobs, const struct graph_ops *ops, void *ctx,
	      struct petra_error **err)
{
	struct graph g = {.n = n, .ops = ops, .ctx = ctx};
	g.state = xcalloc(n ? n : 1, sizeof(*g.state));
	size_t wanted = 0;
	for (size_t t = 0; t < n; t++) {
		bool w = !ops->wanted || ops->wanted(ctx, t);
		g.state[t] = w ? TASK_PENDING : TASK_SKIPPED;
		wanted += w;
	}
	if (jobs > wanted)
		jobs = (unsigned)wanted;
	if (jobs < 1)
		jobs = 1;
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.changed, NULL);
	pthread_t *threads = xcalloc(jobs, sizeof(*threads));
	unsigned started = 0;
	for (unsigned i = 1; i < jobs; i++)
		if (pthread_create(&threads[started], NULL, worker, &g) == 0)
			started++;
	worker(&g);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	free(g.state);
	pthread_mutex_destroy(&g.lock);
	pthread_cond_destroy(&g.changed);
	if (g.error) {
		int code = g.error->code;
		*err = g.error;
		return -code;
	}
	return 0;
}
