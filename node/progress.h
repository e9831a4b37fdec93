/*
 * progress.h — how long work (an import, a first sync, a hub pass, an
 * audit) says how far it got. The library calls the callback with counts
 * only; it never prints. tools/progress.c prints it for people, on a
 * terminal only, rate-limited, with an estimate.
 */
#ifndef HJ_PROGRESS_H
#define HJ_PROGRESS_H

#include <stdint.h>

/* fn may be NULL (no one listens). `what` names the unit counted ("hub
 * entries", "change sets"); total 0 = not known. Called from the working
 * thread, as often as the work likes: the listener rate-limits. */
typedef struct hj_progress {
	void (*fn)(void *ctx, const char *what, uint64_t done, uint64_t total);
	void *ctx;
} hj_progress;

static inline void hj_progress_report(const hj_progress *p, const char *what, uint64_t done, uint64_t total)
{
	if (p && p->fn)
		p->fn(p->ctx, what, done, total);
}

#endif
