/*
 * gitrepo.c — owns struct hj_gitrepo: opening a bare repository with the
 * process-wide options huiji relies on, and the plain ref, object, config
 * and repack operations other files use instead of a raw git_repository*.
 * Every libgit2 failure is translated by giterr.c.
 */
#include "gitrepo.h"

#include "error.h"
#include "giterr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Why the handle carries no mempack: libgit2 1.5.1 has no way to remove a
 * backend from an odb once added, and with a mempack at priority 999 EVERY
 * object written through that git_repository* (a blob made by other code,
 * the objects of a merge, ...) would silently stay in memory and vanish at
 * close unless someone dumps it. So each append (gitfeed.c) opens a
 * private git_repository on the same path, attaches a fresh mempack to
 * that private odb, and frees both when done. Opening a bare repository
 * costs a config read per batch, which is noise next to writing a pack.
 * This handle notices the new pack by itself: in 1.5.1 an odb read that
 * misses calls git_odb_refresh and retries, which rescans objects/pack.
 */
struct hj_gitrepo {
	git_repository *repo;
};

int hj_gitrepo_open(hj_gitrepo **out, const char *path, int create)
{
	int rc, ret = 0, inited = 0;
	hj_gitrepo *r = NULL;

	*out = NULL;
	if (path && !path[0])
		return hj_error_set(HJ_EINVALID, "gitrepo: empty path");
	rc = git_libgit2_init();
	if (rc < 0) {
		ret = hj_git_error(rc, "git_libgit2_init");
		goto done;
	}
	inited = 1;
	/* A USB stick's repository belongs to another uid; 1.5.1 then fails
	 * with a misleading "safe.directory" error. Both options are
	 * process-wide. fsync: "the pack is on disk" must hold before the ref
	 * moves, and the indexer only fsyncs with this option on. */
	if ((rc = git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0)) < 0 ||
	    (rc = git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1)) < 0) {
		ret = hj_git_error(rc, "git_libgit2_opts");
		goto done;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		ret = hj_error_set(HJ_ENOMEM, "gitrepo: out of memory");
		goto done;
	}
	/* NULL path: inside a pre-receive hook, where git keeps the pushed
	 * objects in a quarantine directory named by GIT_OBJECT_DIRECTORY and
	 * GIT_ALTERNATE_OBJECT_DIRECTORIES; only OPEN_FROM_ENV honours them. */
	rc = path ? git_repository_open_bare(&r->repo, path)
		  : git_repository_open_ext(&r->repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (rc == GIT_ENOTFOUND && create && path)
		rc = git_repository_init(&r->repo, path, 1);
	if (rc < 0) {
		ret = hj_git_error(rc, "open git repository '%s'", path ? path : "(from environment)");
		goto done;
	}
	*out = r;
	r = NULL;
	inited = 0;
done:
	if (r) {
		git_repository_free(r->repo);
		free(r);
	}
	if (inited)
		git_libgit2_shutdown();
	return ret;
}

void hj_gitrepo_close(hj_gitrepo *r)
{
	if (!r)
		return;
	git_repository_free(r->repo);
	free(r);
	git_libgit2_shutdown();
}

git_repository *hj_gitrepo_git(hj_gitrepo *r)
{
	return r ? r->repo : NULL;
}

const char *hj_gitrepo_path(hj_gitrepo *r)
{
	return r ? git_repository_path(r->repo) : NULL;
}

/* ---- refs ---- */

int hj_gitrepo_ref_get(git_oid *out, hj_gitrepo *r, const char *ref)
{
	git_reference *g = NULL;
	int rc = git_reference_lookup(&g, r->repo, ref);
	if (rc == GIT_ENOTFOUND)
		return HJ_ENOTFOUND; /* an answer, not a failure: no message */
	if (rc < 0)
		return hj_git_error(rc, "read ref %s", ref);
	if (git_reference_type(g) != GIT_REFERENCE_DIRECT)
		rc = hj_error_set(HJ_ECORRUPT, "ref %s is symbolic", ref);
	else
		git_oid_cpy(out, git_reference_target(g));
	git_reference_free(g);
	return rc;
}

int hj_gitrepo_ref_set(hj_gitrepo *r, const char *ref, const git_oid *id, const char *log_message)
{
	git_reference *g = NULL;
	int rc = git_reference_create(&g, r->repo, ref, id, 1, log_message);
	git_reference_free(g);
	return rc < 0 ? hj_git_error(rc, "set ref %s", ref) : 0;
}

int hj_gitrepo_ref_delete(hj_gitrepo *r, const char *ref)
{
	/* git_reference_remove() returns 0 for a ref that is not there in
	 * 1.5.1, so look it up first; git_reference_delete then fails
	 * (GIT_EMODIFIED) if someone moved it meanwhile. */
	git_reference *g = NULL;
	int rc = git_reference_lookup(&g, r->repo, ref);
	if (rc == GIT_ENOTFOUND)
		return HJ_ENOTFOUND;
	if (rc == 0)
		rc = git_reference_delete(g);
	git_reference_free(g);
	return rc < 0 ? hj_git_error(rc, "remove ref %s", ref) : 0;
}

int hj_gitrepo_ref_foreach(hj_gitrepo *r, const char *glob, hj_gitrepo_ref_cb cb, void *ctx)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int rc, ret = 0;

	if ((rc = git_reference_iterator_glob_new(&it, r->repo, glob)) < 0)
		return hj_git_error(rc, "list refs %s", glob);
	while ((rc = git_reference_next(&ref, it)) == 0) {
		const git_oid *target = git_reference_type(ref) == GIT_REFERENCE_DIRECT ? git_reference_target(ref) : NULL;
		ret = cb(ctx, git_reference_name(ref), target);
		git_reference_free(ref);
		if (ret)
			goto done;
	}
	if (rc != GIT_ITEROVER)
		ret = hj_git_error(rc, "list refs %s", glob);
done:
	git_reference_iterator_free(it);
	return ret;
}

/* ---- objects ---- */

int hj_gitrepo_has_commit(hj_gitrepo *r, const git_oid *id)
{
	git_commit *c = NULL;
	int rc = git_commit_lookup(&c, r->repo, id);
	git_commit_free(c);
	if (rc == 0)
		return 1;
	/* Present but not a commit comes back as GIT_ENOTFOUND too. */
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return 0;
	return hj_git_error(rc, "look up commit %s", git_oid_tostr_s(id));
}

int hj_gitrepo_commit_time(int64_t *out, hj_gitrepo *r, const git_oid *id)
{
	git_commit *c = NULL;
	int rc = git_commit_lookup(&c, r->repo, id);
	if (rc == 0)
		*out = (int64_t)git_commit_time(c);
	git_commit_free(c);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return hj_error_set(HJ_ENOTFOUND, "no commit %s", git_oid_tostr_s(id));
	return rc < 0 ? hj_git_error(rc, "look up commit %s", git_oid_tostr_s(id)) : 0;
}

int hj_gitrepo_write_object(git_oid *out, hj_gitrepo *r, const void *data, size_t len, git_object_t type)
{
	git_odb *odb = NULL;
	int rc = git_repository_odb(&odb, r->repo);
	if (rc == 0)
		rc = git_odb_write(out, odb, data, len, type);
	git_odb_free(odb);
	return rc < 0 ? hj_git_error(rc, "write %s object", git_object_type2string(type)) : 0;
}

int hj_gitrepo_repack(hj_gitrepo *r, char *name_out, size_t name_size)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	int rc;
	if ((rc = git_packbuilder_new(&pb, r->repo)) < 0 || (rc = git_revwalk_new(&walk, r->repo)) < 0 ||
	    (rc = git_revwalk_push_glob(walk, "refs/*")) < 0 || (rc = git_packbuilder_insert_walk(pb, walk)) < 0 ||
	    (rc = git_packbuilder_write(pb, NULL, 0, NULL, NULL)) < 0)
		rc = hj_git_error(rc, "repack");
	else if ((size_t)snprintf(name_out, name_size, "%s", git_packbuilder_name(pb)) >= name_size)
		rc = hj_error_set(HJ_ETOOBIG, "repack: pack name does not fit");
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	return rc;
}

int hj_gitrepo_refresh(hj_gitrepo *r)
{
	git_odb *odb = NULL;
	int rc = git_repository_odb(&odb, r->repo);
	if (rc == 0)
		rc = git_odb_refresh(odb);
	git_odb_free(odb);
	return rc < 0 ? hj_git_error(rc, "refresh object database") : 0;
}

/* ---- config ---- */

int hj_gitrepo_config_set_int(hj_gitrepo *r, const char *name, int value)
{
	git_config *cfg = NULL;
	int rc = git_repository_config(&cfg, r->repo);
	if (rc == 0)
		rc = git_config_set_int32(cfg, name, value);
	git_config_free(cfg);
	return rc < 0 ? hj_git_error(rc, "set config %s", name) : 0;
}

int hj_gitrepo_config_get_int(hj_gitrepo *r, const char *name, int *value)
{
	git_config *cfg = NULL, *snap = NULL;
	int32_t v = 0;
	int rc = git_repository_config(&cfg, r->repo);
	if (rc == 0)
		rc = git_config_snapshot(&snap, cfg);
	if (rc == 0 && (rc = git_config_get_int32(&v, snap, name)) < 0 && rc != GIT_ENOTFOUND) {
		int b = 0;
		if ((rc = git_config_get_bool(&b, snap, name)) == 0)
			v = b;
	}
	git_config_free(snap);
	git_config_free(cfg);
	if (rc == GIT_ENOTFOUND)
		return HJ_ENOTFOUND;
	if (rc < 0)
		return hj_git_error(rc, "read config %s", name);
	*value = (int)v;
	return 0;
}

int hj_gitrepo_config_set_bool(hj_gitrepo *r, const char *name, int value)
{
	git_config *cfg = NULL;
	int rc = git_repository_config(&cfg, r->repo);
	if (rc == 0)
		rc = git_config_set_bool(cfg, name, value);
	git_config_free(cfg);
	return rc < 0 ? hj_git_error(rc, "set config %s", name) : 0;
}
