/*
 * gitrepo.h — the handle on a bare git repository, and the few plain
 * repository operations the rest of huiji needs (refs, objects, config,
 * repacking).
 *
 * Files outside the git-owning ones (gitrepo, gitfeed, transport) call
 * these instead of holding a git_repository*: every libgit2 failure then
 * goes through one adapter (giterr.h), and "absent" is told apart from
 * "could not read" (HJ_ENOTFOUND versus any other negative code).
 */
#ifndef HJ_GITREPO_H
#define HJ_GITREPO_H

#include <stddef.h>

#include <git2.h>

/* Opaque: a git_repository* (see gitrepo.c for why the mempack backend an
 * append uses is not kept on this handle). */
typedef struct hj_gitrepo hj_gitrepo;

/* Open the bare repository at `path`; with create=1 make it (bare) when it
 * is missing. Calls git_libgit2_init (refcounted; undone by close), turns
 * off owner validation (USB sticks are owned by other uids) and turns on
 * fsync of objects and refs (process-wide libgit2 options).
 * path NULL: open the repository git names in the environment (a hook).
 * CONSTRUCTOR: *out; DESTRUCTOR: hj_gitrepo_close. */
int hj_gitrepo_open(hj_gitrepo **out, const char *path, int create);
void hj_gitrepo_close(hj_gitrepo *r); /* accepts NULL */

/* The repository's directory, ending in '/'. Borrowed; valid until
 * close. */
const char *hj_gitrepo_path(hj_gitrepo *r);

/* The raw libgit2 handle. Borrowed; valid until hj_gitrepo_close. Only
 * for the files that own git work (gitfeed*.c, gitrepo.c) and for tests
 * and test tools that build what huiji never builds; everything else uses
 * the operations below. Objects written through it go to disk normally
 * (no in-memory backend is attached to it). */
git_repository *hj_gitrepo_git(hj_gitrepo *r);

/* ---- refs ---- */

/* The commit `ref` points at: 0, HJ_ENOTFOUND if there is no such ref,
 * HJ_ECORRUPT if it is symbolic, other negative codes if it cannot be
 * read. */
int hj_gitrepo_ref_get(git_oid *out, hj_gitrepo *r, const char *ref);

/* Point `ref` at `id` whatever it held (forced; for scratch refs and refs
 * only their writer moves). For a compare-and-swap use hj_gitref_cas. */
int hj_gitrepo_ref_set(hj_gitrepo *r, const char *ref, const git_oid *id, const char *log_message);

/* Remove `ref`: 0, or HJ_ENOTFOUND if it was not there. */
int hj_gitrepo_ref_delete(hj_gitrepo *r, const char *ref);

/* Called in ref-name order; `target` is NULL for a symbolic ref. A
 * non-zero return stops the listing and is returned by
 * hj_gitrepo_ref_foreach. */
typedef int (*hj_gitrepo_ref_cb)(void *ctx, const char *name, const git_oid *target);

/* Every ref matching `glob` (e.g. all feeds: "refs/huiji/feeds/" + "*"). A failure while
 * listing is an error, never a shorter list. */
int hj_gitrepo_ref_foreach(hj_gitrepo *r, const char *glob, hj_gitrepo_ref_cb cb, void *ctx);

/* ---- objects ---- */

/* 1 if `id` names a commit in the repository, 0 if not (absent or another
 * type), negative if the object database cannot be read. */
int hj_gitrepo_has_commit(hj_gitrepo *r, const git_oid *id);

/* The commit time of `id` (seconds since the epoch). HJ_ENOTFOUND if it
 * is not a commit here. */
int hj_gitrepo_commit_time(int64_t *out, hj_gitrepo *r, const git_oid *id);

/* Write one object (loose, or into whatever backend the odb picks) and
 * hand back its id. */
int hj_gitrepo_write_object(git_oid *out, hj_gitrepo *r, const void *data, size_t len, git_object_t type);

/* Write everything reachable from any ref into one new pack (fsynced, see
 * hj_gitrepo_open) and put its name (the <hex> of pack-<hex>.pack) in
 * `name_out`. The old packs stay: the caller removes them, then calls
 * hj_gitrepo_refresh. */
int hj_gitrepo_repack(hj_gitrepo *r, char *name_out, size_t name_size);

/* Forget cached pack lists (after packs were removed from disk). */
int hj_gitrepo_refresh(hj_gitrepo *r);

/* ---- config ---- */

/* Set a boolean in the repository's own config file ("receive.denyDeletes"). */
int hj_gitrepo_config_set_bool(hj_gitrepo *r, const char *name, int value);
int hj_gitrepo_config_set_int(hj_gitrepo *r, const char *name, int value);
/* *value = the integer setting `name` (a boolean reads as 1 or 0);
 * HJ_ENOTFOUND when unset. */
int hj_gitrepo_config_get_int(hj_gitrepo *r, const char *name, int *value);

#endif
