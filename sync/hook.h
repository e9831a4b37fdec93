/*
 * hook.h — what the hub repository accepts from a push (its pre-receive
 * hook runs `huiji hook pre-receive`).
 *
 * receive.denyNonFastForwards / denyDeletes protect only refs/heads/..., so
 * the hub enforces append-only itself: only refs/huiji/feeds/<node>, no
 * deletes, fast-forward only, every new commit a well-formed change set of
 * <node>'s own feed (a node cannot write another's feed: it cannot sign as
 * it), chained to the old tip, and signed by the enrolled key when the node
 * is enrolled; a feed of an id not enrolled yet is held to the quota
 * below. Pushes over a local path run no hooks at all (libgit2), so
 * the sequencer checks everything again; this hook is the first gate.
 */
#ifndef HJ_HOOK_H
#define HJ_HOOK_H

#include "gitfeed.h"
#include "node.h"

/* The quota of a feed whose id nobody enrolled yet. Such a feed may wait
 * at the hub (DESIGN §5: a county may sync before the operator enrols
 * it), but its key is unknown, so anyone reaching the hub could write it:
 * without a bound the hub is free storage. 64 change sets are weeks of a
 * county's ordinary work (one command = one change set); 1 MiB is ample
 * for 64 ordinary change sets (a few KiB each) yet bounds what a stranger
 * can leave. What lies beyond waits at the county until it is enrolled.
 * The hook counts what a push would bring the feed to; the sequencer never
 * walks an unenrolled feed (sync/sequencer.c). */
#define HJ_UNENROLLED_MAX_SETS 64
#define HJ_UNENROLLED_MAX_BYTES (1u << 20)

/* 0 to accept this ref update; else a negative code with the refusal. */
int hj_hook_check(hj_node *hub, hj_gitrepo *repo, const char *old_hex, const char *new_hex, const char *ref);

/* Write hooks/pre-receive into the bare repository at `repo_path`, calling
 * `huiji_path hook pre-receive --dir hub_dir`. */
int hj_hook_install(const char *repo_path, const char *huiji_path, const char *hub_dir);

/* Make the hub's bare repository ready to be served by any git server:
 * receive-pack allowed for git daemon, the refs/heads guards, and, when
 * huiji_path is given, the pre-receive hook running that binary against
 * the hub directory. */
int hj_hub_repo_setup(const hj_node *hub, const char *huiji_path);

/* The hub repository's git must not gc on its own: receive-pack runs `git
 * gc --auto` after a push once packs pile up (gc.autoPackLimit), and that
 * repack deletes a hub pass's fresh pack before its ref names it ("target
 * OID ... doesn't exist") and `pack-refs` locks the refs the pass writes.
 * huiji repacks the hub itself (outbox.c). Sets receive.autogc false and
 * gc.auto 0 where they are not; the sequencer checks at every pass (hubs
 * set up before this). */
int hj_hub_repo_no_autogc(hj_gitrepo *repo);

#endif
