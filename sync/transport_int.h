/*
 * transport_int.h — what the two sides of a transport operation share:
 * the job the parent hands to the forked child, and the heartbeat and
 * result protocol between them (described in transport.c). Internal to
 * sync/.
 */
#ifndef HJ_TRANSPORT_INT_H
#define HJ_TRANSPORT_INT_H

#include <limits.h>
#include <stddef.h>

#define HJ_HB_START 's'
#define HJ_HB_NET 'n'

/* Caps that keep one record small and the parent's memory bounded. */
#define HJ_MSG_MAX 2048
#define HJ_REMOTE_TEXT_MAX 1024
#define HJ_REFS_MAX 1000000u

enum { HJ_OP_LS, HJ_OP_FETCH, HJ_OP_PUSH };

/* What the child is to do; filled in by the parent before fork, so the
 * child reads it from its copy of the address space. */
typedef struct hj_job {
	int op;
	char path[PATH_MAX];
	const char *url;
	const char *prefix;             /* ls */
	const char *const *refspecs;    /* fetch */
	size_t nspecs;
	const char *local_ref;          /* push */
	const char *remote_ref;
} hj_job;

/* The child's whole life after fork: do `job`, write the result record to
 * res_fd, heartbeats to hb_fd, then _exit. Never returns. */
void hj_child_main(const hj_job *job, int hb_fd, int res_fd) __attribute__((noreturn));

#endif
