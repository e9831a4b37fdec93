/*
 * hook.h — what the hub repository accepts from a push (its pre-receive
 * hook runs `huiji hook pre-receive`).
 *
 * receive.denyNonFastForwards / denyDeletes protect only refs/heads/..., so
 * the hub enforces append-only itself: only refs/huiji/feeds/<node>, no
 * deletes, fast-forward only, every new commit a well-formed change set of
 * <node>'s own feed (a node cannot write another's feed: it cannot sign as
 * it), chained to the old tip, and signed by the enrolled key when the node
 * is enrolled. Pushes over a local path run no hooks at all (libgit2), so
 * the sequencer checks everything again; this hook is the first gate.
 */
#ifndef HJ_HOOK_H
#define HJ_HOOK_H

#include "gitfeed.h"
#include "node.h"

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

#endif
