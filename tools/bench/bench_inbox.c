/*
 * bench_inbox.c — section 10: the bytes a node fetches per sync, before
 * the inbox (the hub feed and every node's sequenced history: what sync
 * fetched until issue 8) and after it (the hub feed, its own sequenced
 * history, its inbox and its wraps: sync/sync.c's attempt), side by side in one
 * province built in process: a hub, N counties in cities of I_PER_CITY,
 * and one city node. Bytes are libgit2's received_bytes for a fetch
 * through git daemon (and, for the county, over the local path) into a
 * bare replica: an empty one (a first sync), then the same one after one
 * more round (the steady state), beside the least that second fetch
 * could bring. Sizes, not times, so one round (tools/bench/README.md §10).
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "bench.h"
#include "localfetch.h"
#include "inbox.h"
#include "wraps.h"

#include <dirent.h>
#include <unistd.h>
#include <sys/wait.h>
#include <errno.h>
#include <sys/stat.h>

#define I_HUB "bench-inbox-hub"
#define I_PER_CITY 10 /* counties a city (quick: 4): about what a province has */
#define I_OPS 5       /* member.apply ops a change set */
#define I_ID_MAX 32

/* The refspec sets: before, after, and the hub feed alone (the part both
 * share, which grows with the province whatever the node holds). */
enum { S_BEFORE, S_AFTER, S_HUB, S_N };
/* Whose fetch: county 0 (in city 0), the node of city 0. */
enum { W_COUNTY, W_CITY, W_N };

typedef struct iprov {
	char dir[PATH_MAX], hub_dir[PATH_MAX], hub_git[PATH_MAX];
	char url[PATH_MAX + 64]; /* the nodes' hub URL: git:// when git daemon is up, else hub_git */
	hj_node *hub, *city, **county;
	int n, per_city, cities;
} iprov;

/* How the fetches reach the hub: git:// through git daemon (the smart
 * protocol: the hub sends what the refspecs want), and the local path
 * (huiji's local fetch, sync/localfetch.c: libgit2's local transport
 * would pack every ref the hub has, whatever the refspecs say). */
enum { T_NET, T_LOCAL, T_N };

typedef struct ires {
	int n, per_city, sets;            /* counties, counties a city, change sets each in round 1 */
	uint64_t first[T_N][W_N][S_N];    /* received bytes into an empty replica */
	uint64_t steady[T_N][W_N][S_N];   /* into that replica after round 2 */
	uint64_t floor[T_N][W_N][S_N];    /* new objects only: the least round 2's fetch could bring */
	uint64_t objs[T_N][W_N][S_N];     /* objects the first fetch received */
	uint64_t check_pack, check_own;   /* county after set, git://: .pack bytes of hj_transport_fetch, of ours */
	double secs;                      /* the whole case, set-up included */
} ires;

static void county_id(char out[I_ID_MAX], int i) { snprintf(out, I_ID_MAX, "cz-%03d", i); }
static void county_union(char out[I_ID_MAX], int i) { snprintf(out, I_ID_MAX, "county-%03d", i); }
static void city_union(char out[I_ID_MAX], int c) { snprintf(out, I_ID_MAX, "city-%02d", c); }
#define I_CITY_NODE "city-node-00" /* the node of city-00 */

static hj_json *org_op_kind(const char *id, const char *name, const char *kind, const char *parent)
{
	hj_json *op = op_new("org.create");
	if (op && (hj_json_set_str(op, "id", id) || hj_json_set_str(op, "name", name) ||
		   hj_json_set_str(op, "kind", kind) || hj_json_set_str(op, "parent", parent) ||
		   hj_json_set_str(op, "region", BENCH_REGION))) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

/* The refspecs of set `s` for node `id`, named as sync.c's attempt names
 * them (and the before set as sync named it until the inbox). */
static size_t specs_of(const char *sp[4], char buf[3][400], int s, const char *id)
{
	char inbox[200], wraps[200];
	size_t k = 0;
	sp[k++] = "+refs/huiji/hub/*:refs/huiji/incoming/hub/*";
	if (s == S_BEFORE)
		sp[k++] = "+refs/huiji/sequenced/*:refs/huiji/incoming/feeds/*";
	if (s == S_AFTER) {
		hj_inbox_ref(inbox, sizeof inbox, id);
		hj_rewrap_ref(wraps, sizeof wraps, id);
		snprintf(buf[0], sizeof buf[0], "+refs/huiji/sequenced/%s:refs/huiji/incoming/feeds/%s", id, id);
		snprintf(buf[1], sizeof buf[1], "+%s:refs/huiji/incoming/inbox/%s", inbox, id);
		snprintf(buf[2], sizeof buf[2], "+%s:refs/huiji/incoming/wraps/%s", wraps, id);
		sp[k++] = buf[0];
		sp[k++] = buf[1];
		sp[k++] = buf[2];
	}
	return k;
}

static int count_progress(const git_indexer_progress *stats, void *payload)
{
	(void)stats;
	(void)payload;
	return 0;
}

/* Fetch `specs` from url into the bare repository at path (made when
 * missing, with huiji's fsync settings) the way transport_child.c's fetch
 * does (no tags, no FETCH_HEAD, no pruning), but in this process so that
 * libgit2's own count of the bytes it received can be read afterwards
 * (git_remote_stats). */
static int pack_bytes(uint64_t *out, const char *path);

static int fetch_here(uint64_t *bytes, uint64_t *objs, const char *path, const char *url, const char *const *specs,
		      size_t nspecs)
{
	hj_gitrepo *r = NULL;
	git_remote *remote = NULL;
	git_fetch_options fo;
	git_strarray sa = {(char **)specs, nspecs};
	int rc = hj_gitrepo_open(&r, path, 1);
	if (rc)
		return rc;
	if (hj_localfetch_is_local(url)) {
		/* What huiji's sync does with a hub on this machine (sync/
		 * localfetch.c): the bytes are the packs it writes. */
		uint64_t before = 0, after = 0;
		if (!(rc = pack_bytes(&before, path)) && !(rc = hj_localfetch(r, url, specs, nspecs)))
			rc = pack_bytes(&after, path);
		*bytes = after - before;
		*objs = 0;
		goto done;
	}
	if (git_remote_create_anonymous(&remote, hj_gitrepo_git(r), url) < 0) {
		rc = hj_error_set(HJ_ERROR, "inbox bench: remote %s: %s", url, hj_git_message());
		goto done;
	}
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	/* libgit2 1.5.1's smart protocol counts received_bytes only while a
	 * transfer_progress callback is set (transport_child.c sets one). */
	fo.callbacks.transfer_progress = count_progress;
	if (git_remote_fetch(remote, &sa, &fo, NULL) < 0) {
		rc = hj_error_set(HJ_ERROR, "inbox bench: fetch into %s: %s", path, hj_git_message());
		goto done;
	}
	const git_indexer_progress *st = git_remote_stats(remote);
	*bytes = st->received_bytes;
	*objs = st->received_objects;
done:
	git_remote_free(remote);
	hj_gitrepo_close(r);
	return rc;
}

/* fetch_here in a child process, as huiji's transport runs its fetches
 * (transport_child.c): libgit2 1.5.1 leaks PCRE2 match data in a git://
 * fetch (found by LeakSanitizer in this bench), which a child's _exit
 * leaves to the kernel. */
static int fetch_bytes(uint64_t *bytes, uint64_t *objs, const char *path, const char *url, const char *const *specs,
		       size_t nspecs)
{
	int fds[2];
	struct {
		int rc;
		uint64_t bytes, objs;
		char msg[256];
	} res = {HJ_ERROR, 0, 0, ""};
	if (hj_localfetch_is_local(url))
		return fetch_here(bytes, objs, path, url, specs, nspecs);
	if (pipe(fds) != 0)
		return hj_error_set(HJ_ERROR, "inbox bench: pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return hj_error_set(HJ_ERROR, "inbox bench: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		res.rc = fetch_here(&res.bytes, &res.objs, path, url, specs, nspecs);
		snprintf(res.msg, sizeof res.msg, "%s", res.rc ? hj_error_last() : "");
		ssize_t w = write(fds[1], &res, sizeof res);
		_exit(w == (ssize_t)sizeof res ? 0 : 1);
	}
	close(fds[1]);
	ssize_t got = read(fds[0], &res, sizeof res);
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (got != (ssize_t)sizeof res)
		return hj_error_set(HJ_ERROR, "inbox bench: the fetch child died (status 0x%x)", status);
	if (res.rc)
		return hj_error_set(res.rc, "%s", res.msg);
	*bytes = res.bytes;
	*objs = res.objs;
	return 0;
}

/* Bytes of the *.pack files under path/objects/pack. */
static int pack_bytes(uint64_t *out, const char *path)
{
	char dir[PATH_MAX], f[PATH_MAX];
	struct stat sb;
	struct dirent *e;
	int rc;
	*out = 0;
	if ((rc = path_join2(dir, path, "objects/pack")))
		return rc;
	DIR *d = opendir(dir);
	if (!d)
		return hj_error_set(HJ_ERROR, "%s: %s", dir, strerror(errno));
	while (!rc && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".pack") != 0)
			continue;
		if (!(rc = path_join2(f, dir, e->d_name)) && stat(f, &sb) == 0)
			*out += (uint64_t)sb.st_size;
	}
	closedir(d);
	return rc;
}

/* The cross-check: the same refspecs through huiji's own transport (the
 * watched child) into another empty replica; what it wrote in packs. */
static int check_transport(uint64_t *out, const char *path, const char *url, const char *const *specs, size_t nspecs)
{
	hj_gitrepo *r = NULL;
	int rc = hj_gitrepo_open(&r, path, 1);
	if (!rc)
		rc = hj_transport_fetch(r, url, specs, nspecs, NULL);
	hj_gitrepo_close(r);
	return rc ? rc : pack_bytes(out, path);
}

/* p->dir/replica-<t>-<who>-<set>: where measure() fetches into. */
static int replica_path(char out[PATH_MAX], const iprov *p, int t, int w, int s)
{
	char name[64];
	snprintf(name, sizeof name, "replica-%d-%d-%d", t, w, s);
	return path_join2(out, p->dir, name);
}

/* Every fetch of one measurement: both nodes, all three sets, over
 * `url`, into the replicas replica-<t>-<who>-<set> under the province
 * (made by the first measurement, fetched into again by the second). */
static int measure(iprov *p, int t, const char *url, uint64_t bytes[W_N][S_N], uint64_t objs[W_N][S_N])
{
	const char *who[W_N] = {NULL, I_CITY_NODE};
	char cz[I_ID_MAX], path[PATH_MAX], buf[3][400];
	const char *sp[4];
	uint64_t ignored[W_N][S_N];
	int rc = 0;
	county_id(cz, 0);
	who[W_COUNTY] = cz;
	if (!objs)
		objs = ignored;
	/* Over the local path the county alone: the city node adds time,
	 * not a different answer. */
	for (int w = 0; !rc && w < (t == T_LOCAL ? 1 : W_N); w++)
		for (int s = 0; !rc && s < S_N; s++) {
			size_t k = specs_of(sp, buf, s, who[w]);
			if (!(rc = replica_path(path, p, t, w, s)))
				rc = fetch_bytes(&bytes[w][s], &objs[w][s], path, url, sp, k);
		}
	return rc;
}

static int git_failed(const char *what, const char *path)
{
	return hj_error_set(HJ_ERROR, "inbox bench: %s %s: %s", what, path, hj_git_message());
}

/* What an incremental fetch of set s into `replica` must bring at least:
 * a pack of the objects the hub's refs of the set reach now and the
 * replica's refs do not, built in process by libgit2's packbuilder from
 * the hub repository. Against it the measured fetch shows what the
 * negotiation costs (libgit2 1.5.1 stops sending haves at the hub's first
 * ACK, so the hub resends the history of every ref it was not told of). */
static int new_only_bytes(uint64_t *out, git_repository *hub, const char *replica, int s, const char *id)
{
	hj_gitrepo *r = NULL;
	git_revwalk *walk = NULL;
	git_packbuilder *pb = NULL;
	git_reference_iterator *it = NULL;
	git_reference *ref;
	git_buf buf = {0};
	char names[4][200];
	int rc = 0, k = 0;
	snprintf(names[k++], sizeof names[0], "refs/huiji/hub/*");
	if (s == S_BEFORE)
		snprintf(names[k++], sizeof names[0], "refs/huiji/sequenced/*");
	if (s == S_AFTER) {
		snprintf(names[k++], sizeof names[0], "refs/huiji/sequenced/%s", id);
		hj_inbox_ref(names[k++], sizeof names[0], id);
		hj_rewrap_ref(names[k++], sizeof names[0], id);
	}
	if (git_revwalk_new(&walk, hub) < 0 || git_packbuilder_new(&pb, hub) < 0) {
		rc = git_failed("packbuilder for", replica);
		goto done;
	}
	for (int i = 0; !rc && i < k; i++) {
		git_oid tip;
		int e = strchr(names[i], '*') ? git_revwalk_push_glob(walk, names[i])
					      : git_reference_name_to_id(&tip, hub, names[i]);
		if (e == 0 && !strchr(names[i], '*'))
			e = git_revwalk_push(walk, &tip);
		if (e < 0 && e != GIT_ENOTFOUND) /* a node's inbox is made at its first delivery */
			rc = git_failed("walk", names[i]);
	}
	if (rc || (rc = hj_gitrepo_open(&r, replica, 0)))
		goto done;
	if (git_reference_iterator_new(&it, hj_gitrepo_git(r)) < 0)
		rc = git_failed("refs of", replica);
	int e = 0;
	while (!rc && (e = git_reference_next(&ref, it)) == 0) {
		const git_oid *tip = git_reference_target(ref);
		if (tip && git_revwalk_hide(walk, tip) < 0)
			rc = git_failed("hide a tip of", replica);
		git_reference_free(ref);
	}
	if (!rc && e != GIT_ITEROVER)
		rc = git_failed("read the refs of", replica);
	if (!rc && (git_packbuilder_insert_walk(pb, walk) < 0 || git_packbuilder_write_buf(&buf, pb) < 0))
		rc = git_failed("pack the new objects for", replica);
	*out = rc ? 0 : buf.size;
done:
	git_buf_dispose(&buf);
	git_reference_iterator_free(it);
	git_packbuilder_free(pb);
	git_revwalk_free(walk);
	hj_gitrepo_close(r);
	return rc;
}

/* new_only_bytes of every replica measure() made, before round 2's
 * fetches move their refs. The local-path replicas' refs are the git://
 * ones' (same refspecs, same hub), so their floor is computed only when
 * git:// was not measured. */
static int measure_floor(iprov *p, uint64_t floor[T_N][W_N][S_N])
{
	hj_gitrepo *hub = NULL;
	char cz[I_ID_MAX], path[PATH_MAX];
	const char *who[W_N] = {cz, I_CITY_NODE};
	int rc = hj_gitrepo_open(&hub, p->hub_git, 0);
	county_id(cz, 0);
	int t = strncmp(p->url, "git://", 6) == 0 ? T_NET : T_LOCAL;
	for (int w = 0; !rc && w < (t == T_LOCAL ? 1 : W_N); w++)
		for (int s = 0; !rc && s < S_N; s++) {
			if (!(rc = replica_path(path, p, t, w, s)))
				rc = new_only_bytes(&floor[t][w][s], hj_gitrepo_git(hub), path, s, who[w]);
		}
	if (t == T_NET)
		memcpy(floor[T_LOCAL], floor[T_NET], sizeof floor[T_NET]);
	hj_gitrepo_close(hub);
	return rc;
}

static hj_json *enrol_node_op(const hj_node *n, const char *union_id)
{
	char pkhex[65];
	hj_json *op = op_new("node.enroll");
	hj_hex_encode(pkhex, n->pk, 32);
	if (op && (hj_json_set_str(op, "node", n->id) || hj_json_set_str(op, "pubkey", pkhex) ||
		   hj_json_set_str(op, "union", union_id) || hj_json_set_str(op, "role", "union"))) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

/* The hub's one change set: the cities, the county unions, every
 * county's enrolment and the city node's; then published. */
static int prov_enrol(iprov *p)
{
	int nops = p->cities + 2 * p->n + 1, k = 0, rc;
	hj_json **ops = calloc((size_t)nops, sizeof *ops);
	char id[I_ID_MAX], parent[I_ID_MAX], name[64];
	hj_gitrepo *repo = NULL;
	if (!ops)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	for (int c = 0; c < p->cities; c++) {
		city_union(id, c);
		snprintf(name, sizeof name, "测试市总工会 %d", c);
		ops[k++] = org_op_kind(id, name, "city", BENCH_ROOT_UNION);
	}
	for (int i = 0; i < p->n; i++) {
		county_union(id, i);
		city_union(parent, i / p->per_city);
		snprintf(name, sizeof name, "测试县总工会 %d", i);
		ops[k++] = org_op_kind(id, name, "county", parent);
		ops[k++] = enrol_node_op(p->county[i], id);
	}
	city_union(id, 0);
	ops[k++] = enrol_node_op(p->city, id);
	for (int i = 0; i < nops; i++)
		if (!ops[i]) {
			ops_free(ops, 0, nops);
			free(ops);
			return hj_error_set(HJ_ENOMEM, "out of memory");
		}
	rc = commit_ops(p->hub, ops, nops); /* takes the ops */
	free(ops);
	if (!rc && !(rc = hj_node_repo_open(&repo, p->hub)))
		rc = hj_hub_publish(p->hub, repo);
	hj_gitrepo_close(repo);
	return rc;
}

/* Directories, the hub (root bootstrap, hub.git without the hook), N
 * counties and the city node, their hub URL p->url (git:// when port > 0),
 * enrolled. */
static int prov_setup(iprov *p, const char *parent, int port, int n, int per_city)
{
	char name[32], sub[PATH_MAX], hubkey[65], id[I_ID_MAX], uid[I_ID_MAX];
	int rc;
	p->n = n;
	p->per_city = per_city;
	p->cities = (n + per_city - 1) / per_city;
	snprintf(name, sizeof name, "province-%d", n);
	if ((rc = path_join2(p->dir, parent, name)) || (rc = path_join2(p->hub_dir, p->dir, "hub")) ||
	    (rc = path_join2(p->hub_git, p->hub_dir, "hub.git")))
		return rc;
	if (port > 0)
		snprintf(p->url, sizeof p->url, "git://127.0.0.1:%d/%s/hub/hub.git", port, name);
	else
		snprintf(p->url, sizeof p->url, "%s", p->hub_git);
	if (mkdir(p->dir, 0700) != 0)
		return hj_error_set(HJ_ERROR, "%s: %s", p->dir, strerror(errno));
	if (!(p->county = calloc((size_t)n, sizeof *p->county)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	hj_node_init_opts ho = {.dir = p->hub_dir, .node = I_HUB, .union_id = BENCH_ROOT_UNION, .is_root = 1};
	if ((rc = hj_node_create(&p->hub, &ho)) || (rc = root_bootstrap(p->hub)) ||
	    (rc = hj_hub_repo_setup(p->hub, NULL)))
		return rc;
	hj_hex_encode(hubkey, p->hub->pk, 32);
	for (int i = 0; !rc && i <= n; i++) {
		hj_node **out = i < n ? &p->county[i] : &p->city;
		if (i < n)
			county_id(id, i), county_union(uid, i);
		else
			snprintf(id, sizeof id, "%s", I_CITY_NODE), city_union(uid, 0);
		hj_node_init_opts o = {.dir = sub, .node = id, .union_id = uid, .hub_url = p->url,
				       .hub_key = hubkey};
		if (!(rc = path_join2(sub, p->dir, id)) && !(rc = hj_node_create(out, &o)))
			rc = hj_db_exec((*out)->db, "PRAGMA synchronous=OFF"); /* untimed set-up */
	}
	if (rc || (rc = hj_db_exec(p->hub->db, "PRAGMA synchronous=OFF")))
		return rc;
	return prov_enrol(p);
}

static void prov_close(iprov *p)
{
	hj_node_close(p->hub);
	hj_node_close(p->city);
	for (int i = 0; p->county && i < p->n; i++)
		hj_node_close(p->county[i]);
	free(p->county);
	if (p->dir[0])
		rm_rf(p->dir);
	memset(p, 0, sizeof *p);
}

/* A county's feed written out and pushed straight to hub.git over the
 * local path (one transport child: hj_transport_push), not through
 * hj_sync: set-up only, and an hj_sync of each of N counties each round
 * (ls, push, fetch, follow through git daemon) made section 10 take
 * minutes. prov_verify then syncs two of them the real way. */
static int county_push(hj_node *n, const char *hub_git)
{
	hj_gitrepo *repo = NULL;
	char ref[160];
	int rc = hj_node_repo_open(&repo, n);
	hj_node_feed_ref(n, ref, sizeof ref);
	if (!rc && !(rc = hj_outbox_flush(n, repo, NULL)))
		rc = hj_transport_push(repo, hub_git, ref, ref, NULL);
	hj_gitrepo_close(repo);
	return rc;
}

/* Every county commits `sets` change sets of I_OPS applications of new
 * fake people into its union and pushes them; then one hub pass, which
 * must take them all and reject nothing. */
static int prov_round(bench *b, iprov *p, int sets)
{
	hj_gitrepo *repo = NULL;
	hj_seq_report qr;
	char uid[I_ID_MAX];
	int rc = 0;
	for (int i = 0; !rc && i < p->n; i++) {
		county_union(uid, i);
		if (!(rc = bench_commit_list(b, p->county[i], uid, b->next, sets * I_OPS, I_OPS)))
			rc = county_push(p->county[i], p->hub_git);
	}
	if (rc || (rc = hj_node_repo_open(&repo, p->hub)) || (rc = hj_hub_sequence(p->hub, repo, &qr)))
		goto done;
	uint64_t want = (uint64_t)p->n * (uint64_t)sets;
	if (qr.change_sets != want || qr.rejected || qr.quarantined)
		rc = hj_error_set(HJ_ERROR, "inbox bench: %" PRIu64 " change sets sequenced, %" PRIu64 " ops rejected, %"
				  PRIu64 " quarantined; expected %" PRIu64 " and none",
				  qr.change_sets, qr.rejected, qr.quarantined, want);
done:
	hj_gitrepo_close(repo);
	return rc;
}

/* What the after set brought must be enough: county 0 and the city node
 * sync through the real path and end with nothing pending, never needing
 * every node's feeds, county 0 holding its own members and the city node
 * every member of its counties. */
static int prov_verify(iprov *p, int per_county)
{
	hj_node *who[2] = {p->county[0], p->city};
	int64_t want[2] = {per_county, (int64_t)per_county * (p->n < p->per_city ? p->n : p->per_city)};
	int rc = 0;
	for (int w = 0; !rc && w < 2; w++) {
		hj_sync_report sr;
		int64_t members = 0;
		if ((rc = bench_county_sync(who[w], &sr)) ||
		    (rc = hj_db_get_int(who[w]->db, "SELECT count(*) FROM membership", NULL, NULL, &members)))
			break;
		if (sr.pending || sr.need_feeds || members != want[w])
			rc = hj_error_set(HJ_ERROR, "inbox bench: %s synced with %" PRIu64 " pending%s and holds %lld "
					  "members, expected %lld", who[w]->id, sr.pending,
					  sr.need_feeds ? ", fetching every feed" : "", (long long)members,
					  (long long)want[w]);
	}
	return rc;
}

/* Both transports' fetches; git:// only when git daemon is up. */
static int measure_all(iprov *p, uint64_t bytes[T_N][W_N][S_N], uint64_t objs[T_N][W_N][S_N])
{
	int rc = 0;
	if (strncmp(p->url, "git://", 6) == 0)
		rc = measure(p, T_NET, p->url, bytes[T_NET], objs ? objs[T_NET] : NULL);
	return rc ? rc : measure(p, T_LOCAL, p->hub_git, bytes[T_LOCAL], objs ? objs[T_LOCAL] : NULL);
}

/* One province of n counties: round 1 (sets change sets each), the first
 * fetches, the cross-check, round 2 (one change set each), the steady
 * fetches, then the real syncs that prove the after set suffices. The
 * province lives in parent/province-<n>, which git daemon serves. */
static int one_case(bench *b, const char *parent, int port, int n, int per_city, int sets, ires *res)
{
	iprov p = {0};
	char path[PATH_MAX], cz[I_ID_MAX], buf[3][400];
	const char *sp[4];
	double t0 = now_s();
	int rc;
	res->n = n, res->per_city = per_city, res->sets = sets;
	if ((rc = prov_setup(&p, parent, port, n, per_city)))
		goto done;
	b->keys = p.county[0]; /* the province's person secret, the same at every node */
	if ((rc = prov_round(b, &p, sets)))
		goto done;
	if ((rc = measure_all(&p, res->first, res->objs)))
		goto done;
	county_id(cz, 0);
	size_t k = specs_of(sp, buf, S_AFTER, cz);
	if (port > 0 && ((rc = path_join2(path, p.dir, "check-transport")) ||
			 (rc = check_transport(&res->check_pack, path, p.url, sp, k)) ||
			 (rc = replica_path(path, &p, T_NET, W_COUNTY, S_AFTER)) || (rc = pack_bytes(&res->check_own, path))))
		goto done;
	if ((rc = prov_round(b, &p, 1)) || (rc = measure_floor(&p, res->floor)) ||
	    (rc = measure_all(&p, res->steady, NULL)))
		goto done;
	rc = prov_verify(&p, (sets + 1) * I_OPS);
done:
	b->keys = NULL;
	res->secs = now_s() - t0;
	prov_close(&p);
	return rc;
}

/* a / b as "15.7x", "243x", "0.05x" (the digits that mean something). */
static const char *ratio_of(char out[16], uint64_t a, uint64_t b)
{
	double r = b ? (double)a / (double)b : 0.0;
	snprintf(out, 16, r >= 100 ? "%.0fx" : r >= 1 ? "%.1fx" : "%.2fx", r);
	return out;
}

static void print_irow(const ires *r, int t, int w)
{
	char label[48];
	if (w == W_COUNTY)
		snprintf(label, sizeof label, "county (1 of %d)", r->n);
	else
		snprintf(label, sizeof label, "city node (%d counties)", r->n < r->per_city ? r->n : r->per_city);
	const uint64_t *f = r->first[t][w], *st = r->steady[t][w], *fl = r->floor[t][w];
	char r1[16], r2[16], r3[16];
	printf("  %4d  %-23s %-6s %9" PRIu64 " %8" PRIu64 " %7s %8" PRIu64 " | %8" PRIu64 " %8" PRIu64 " %7" PRIu64
	       " %7s %7s\n",
	       r->n, label, t == T_NET ? "git://" : "path", f[S_BEFORE], f[S_AFTER], ratio_of(r1, f[S_BEFORE], f[S_AFTER]),
	       f[S_HUB], st[S_BEFORE], fl[S_BEFORE], st[S_AFTER], ratio_of(r2, st[S_BEFORE], st[S_AFTER]),
	       ratio_of(r3, fl[S_BEFORE], st[S_AFTER]));
}

static void print_inbox(const ires *res, int nn, const char *no_net, double secs)
{
	const ires *big = &res[nn - 1];
	int net = !no_net[0];
	printf("\n10. bytes a node fetches per sync, before the inbox (hub feed + every node's sequenced history)\n"
	       "    and after (hub feed + its own sequenced history + its inbox): libgit2's received_bytes for a\n"
	       "    fetch into an empty replica (first sync), then into the same replica after one more round\n"
	       "    (steady); %d change sets of %d applications a county, then 1 more each; %d counties a city;\n"
	       "    %.1f s with set-up\n",
	       big->sets, I_OPS, big->per_city, secs);
	if (!net)
		printf("    (git daemon did not start: %s; only the local path is measured)\n", no_net);
	printf("  %4s  %-23s %-6s %9s %8s %7s %8s | %8s %8s %7s %7s %7s\n", "N", "node", "via", "1st: bef.", "after",
	       "ratio", "hub feed", "st.: bef.", "new only", "after", "ratio", "r. new");
	for (int i = 0; i < nn; i++) {
		if (net)
			for (int w = 0; w < W_N; w++)
				print_irow(&res[i], T_NET, w);
		print_irow(&res[i], T_LOCAL, W_COUNTY);
	}
	printf("    bytes; ratio = before / after. hub feed: its refspec alone (in both sets). new only: the pack of\n"
	       "    just the objects round 2 added to the before set's refs (libgit2's packbuilder on the hub), the\n"
	       "    least that fetch could bring (libgit2 1.5.1 stops sending haves at the hub's first ACK, so the\n"
	       "    hub resends whole histories of refs it was not told of); r. new = new only / after. git:// is\n"
	       "    git daemon's smart protocol; path is a local hub path, fetched by huiji's local fetch\n"
	       "    (sync/localfetch.c: only the named refs' feeds; bytes = the packs it wrote), because\n"
	       "    libgit2's local transport packs every ref the hub has whatever the refspecs name.\n");
	if (net)
		printf("    County, first git:// fetch, N = %d: %" PRIu64 " objects before, %" PRIu64 " after; with the after\n"
		       "    set huiji's own transport (hj_transport_fetch) wrote %" PRIu64 " bytes of pack, the fetch\n"
		       "    above %" PRIu64 " (received_bytes %" PRIu64 ": the pack and the protocol's framing).\n",
		       big->n, big->objs[T_NET][W_COUNTY][S_BEFORE], big->objs[T_NET][W_COUNTY][S_AFTER], big->check_pack,
		       big->check_own, big->first[T_NET][W_COUNTY][S_AFTER]);
	printf("    County 0 and the city node then synced (hj_sync) with nothing pending and no full fetch,\n"
	       "    the county holding its own members, the city node its counties'.");
	for (int i = 0; i < nn; i++)
		printf("%s N = %d: %.1f s", i ? "," : "\n   ", res[i].n, res[i].secs);
	printf("\n");
}

int bench_inbox(bench *b, int quick)
{
	static const int n_default[] = {25, 50, 100};
	static const int n_quick[] = {8};
	const int *ns = quick ? n_quick : n_default;
	int nn = quick ? 1 : 3, sets = quick ? 3 : 20, per_city = quick ? 4 : I_PER_CITY, rc = 0;
	ires res[3];
	syncb *d = calloc(1, sizeof *d); /* for git daemon: root, log, port */
	double t0 = now_s();
	memset(res, 0, sizeof res);
	if (!d)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	if ((rc = path_join2(d->root, b->dir, "inbox")) || (rc = path_join2(d->log, b->dir, "inbox-daemon.log")))
		goto done;
	if (mkdir(d->root, 0700) != 0) {
		rc = hj_error_set(HJ_ERROR, "%s: %s", d->root, strerror(errno));
		goto done;
	}
	char no_net[256] = "";
	if (daemon_start(d) != 0)
		snprintf(no_net, sizeof no_net, "%s", hj_error_last());
	for (int i = 0; !rc && i < nn; i++)
		rc = one_case(b, d->root, no_net[0] ? 0 : d->port, ns[i], per_city, sets, &res[i]);
	daemon_stop(d);
	if (!rc)
		print_inbox(res, nn, no_net, now_s() - t0);
done:
	rm_rf(d->root);
	free(d);
	return rc;
}
