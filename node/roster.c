/*
 * roster.c — a driver list compared with the roll (roster.h): the list
 * read with the one CSV reader and the shared header mapping, each row
 * checked and keyed, matched against this node's registry (and a hub's
 * peer registries), counted per worker group and handed to the caller.
 * It reads the registry only: nothing is signed or written.
 */
#include "roster.h"
#include "csv_header.h"
#include "db.h"
#include "error.h"
#include "fold.h"
#include "idnum.h"
#include "peer_dup.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_ID, R_KEY, R_NAME, R_PHONE, R_PLATE, R_GROUP, R_COUNT };
static const char *const columns[R_COUNT] = {"id_number", "person_key", "name", "phone", "plate", "group"};

#define DEFAULT_GROUP "truck_driver"

/* The people already met in the list, by a 16-byte BLAKE2b of how the row
 * names them (a number or a key), so a list of millions stays small and
 * no number is kept; open addressing, grown at half full. */
typedef struct seen {
	uint8_t (*h)[16];
	long *line; /* 0: empty slot (lines start at 1) */
	size_t cap, n;
} seen;

/* A record found: copied out of the statement before it is released. */
typedef struct found {
	char member[160], union_id[128], union_name[512], status[16], province[65];
} found;

typedef struct run {
	hj_node *n;
	hj_roster *r;
	char **sub;     /* the union compared for and every union below it, sorted (strcmp) */
	size_t nsub;
	char **groups;  /* worker_group codes, the vocabulary's order */
	size_t ngroups;
	char *group_list; /* "truck_driver, ride_hailing, …" for the message naming them */
	const char *group; /* of rows without a group column */
	hj_peer_lookup *peers;
	seen seen;
	found f;           /* the record found for the current row */
	char region[7];    /* the current row's */
	char *region_name; /* malloc'd, the current row's */
} run;

const char *hj_roster_state_name(hj_roster_state s)
{
	static const char *const names[] = {"member_here", "member_elsewhere", "applied", "not_reached", "bad"};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

static void seen_free(seen *s)
{
	free(s->h);
	free(s->line);
	memset(s, 0, sizeof *s);
}

static size_t seen_slot(const seen *s, const uint8_t h[16])
{
	uint64_t x;
	memcpy(&x, h, sizeof x);
	size_t i = (size_t)x & (s->cap - 1);
	while (s->line[i] && memcmp(s->h[i], h, 16) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int seen_grow(seen *s)
{
	seen g = {0};
	g.cap = s->cap ? s->cap * 2 : 1024;
	g.h = calloc(g.cap, sizeof *g.h);
	g.line = calloc(g.cap, sizeof *g.line);
	if (!g.h || !g.line) {
		seen_free(&g);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->line[i]) {
			size_t j = seen_slot(&g, s->h[i]);
			memcpy(g.h[j], s->h[i], 16);
			g.line[j] = s->line[i];
		}
	g.n = s->n;
	seen_free(s);
	*s = g;
	return 0;
}

/* 0 and *first = 0 when `who` is new (now recorded at `line`), 0 and
 * *first = its earlier line when met before, or HJ_ENOMEM. */
static int seen_check(seen *s, const char *who, long line, long *first)
{
	static const uint8_t domain[] = "huiji roster row 1";
	uint8_t h[16];
	*first = 0;
	if (2 * (s->n + 1) > s->cap) {
		int rc = seen_grow(s);
		if (rc)
			return rc;
	}
	crypto_generichash(h, sizeof h, (const uint8_t *)who, strlen(who), domain, sizeof domain - 1);
	size_t i = seen_slot(s, h);
	if (s->line[i]) {
		*first = s->line[i];
		return 0;
	}
	memcpy(s->h[i], h, 16);
	s->line[i] = line;
	s->n++;
	return 0;
}

static void list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Every first column of `sql` (`arg` bound to :a when not NULL) into a
 * malloc'd array of malloc'd strings. DESTRUCTOR: list_free. */
static int list_load(char ***out, size_t *nout, hj_db *db, const char *sql, const char *arg)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	if (!st)
		return HJ_ERROR;
	if (arg && (rc = hj_db_bind_text(st, ":a", arg)))
		goto done;
	while ((rc = hj_db_step(db, st)) == 1) {
		if (n == cap) {
			char **g = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
			if (!g) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				goto done;
			}
			v = g;
		}
		if ((rc = hj_db_col_dup(&v[n], st, 0)))
			goto done;
		n++;
	}
done:
	hj_db_release(db, st);
	if (rc < 0) {
		list_free(v, n);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_has(char **v, size_t n, const char *s)
{
	return s && bsearch(&s, v, n, sizeof *v, cmp_str) != NULL;
}

static const char *subtree_sql = "WITH RECURSIVE sub(id) AS (SELECT :a UNION SELECT o.id FROM org o JOIN sub "
				 "ON o.parent = sub.id) SELECT id FROM sub ORDER BY id";

/* "unknown union 'x': one of a, b, … (huiji org list)": the unions this
 * node may compare for, the first few of them. */
static int unknown_union(const char *u, char **mine, size_t nmine)
{
	hj_buf b = HJ_BUF_INIT;
	for (size_t i = 0; i < nmine && i < 12; i++)
		hj_buf_printf(&b, "%s%s", i ? ", " : "", mine[i]);
	if (nmine > 12)
		hj_buf_puts(&b, ", …");
	int rc = hj_error_set(HJ_EINVALID, "unknown union '%s': one of %s (huiji org list names them)", u,
			      b.rc || !b.data ? "the unions below this node's" : (const char *)b.data);
	hj_buf_free(&b);
	return rc;
}

/* The union compared for: it exists (or is the node's own, before the
 * tree reached it), and lies at or below the node's union, which is all
 * a node holds (a hub's is the province's root). Sets r->union_* and
 * the subtree. */
static int union_open(run *x, const char *u)
{
	char **mine = NULL;
	size_t nmine = 0;
	int64_t exists = 0;
	int rc;
	hj_roster *r = x->r;
	if (!(r->union_id = strdup(u)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	if ((rc = hj_db_get_int(x->n->db, "SELECT count(*) FROM org WHERE id = :u", ":u", u, &exists)) ||
	    (rc = list_load(&mine, &nmine, x->n->db, subtree_sql, x->n->union_id)))
		return rc;
	if (!exists && strcmp(u, x->n->union_id) != 0) {
		rc = unknown_union(u, mine, nmine);
		list_free(mine, nmine);
		return rc;
	}
	int below = strcmp(u, x->n->union_id) == 0 || list_has(mine, nmine, u);
	list_free(mine, nmine);
	if (!below)
		return hj_error_set(HJ_EINVALID, "union '%s' is not %s nor below it: this node holds no other union's "
				    "members (the hub compares for any union)", u, x->n->union_id);
	if ((rc = list_load(&x->sub, &x->nsub, x->n->db, subtree_sql, u)))
		return rc;
	rc = hj_db_get_text(&r->union_name, x->n->db, "SELECT name FROM org WHERE id = :u", ":u", u);
	if (rc == HJ_ENOTFOUND && !(r->union_name = strdup(u)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	return rc == HJ_ENOTFOUND ? 0 : rc;
}

/* The worker groups, their counts, and their names for messages. */
static int groups_open(run *x)
{
	hj_buf b = HJ_BUF_INIT;
	int rc = list_load(&x->groups, &x->ngroups, x->n->db, "SELECT code FROM worker_group ORDER BY sort, code",
			   NULL);
	if (rc)
		return rc;
	if (!(x->r->counts = calloc(x->ngroups ? x->ngroups : 1, sizeof *x->r->counts)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	x->r->ncounts = x->ngroups;
	for (size_t i = 0; i < x->ngroups; i++) {
		snprintf(x->r->counts[i].group, sizeof x->r->counts[i].group, "%s", x->groups[i]);
		hj_buf_printf(&b, "%s%s", i ? ", " : "", x->groups[i]);
	}
	if (b.rc || !b.data) {
		hj_buf_free(&b);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	x->group_list = (char *)hj_buf_detach(&b, NULL);
	return 0;
}

/* Columns: id, status, union id, union name. */
static void found_set(found *f, sqlite3_stmt *st)
{
	snprintf(f->member, sizeof f->member, "%s", hj_db_col_text(st, 0));
	snprintf(f->status, sizeof f->status, "%s", hj_db_col_text(st, 1));
	snprintf(f->union_id, sizeof f->union_id, "%s", hj_db_col_text(st, 2));
	snprintf(f->union_name, sizeof f->union_name, "%s", hj_db_col_text(st, 3));
}

/* The person's records in this node's registry, live first, then the
 * latest: by key (`by_number` 0) or by the ID number of the person rows
 * held here. A node without the person secret considers only records of
 * the union compared for and below it, so it never says where else. */
static int match_home(run *x, const char *who, int by_number, hj_roster_state *state)
{
	hj_db *db = x->n->db;
	sqlite3_stmt *st = hj_db_stmt(db, by_number
		? "SELECT m.id, m.status, m.union_id, coalesce(o.name, m.union_id) FROM membership m LEFT JOIN org o "
		  "ON o.id = m.union_id WHERE m.person_key IN (SELECT person_key FROM person WHERE id_number = :k) "
		  "ORDER BY m.status IN ('active', 'applied') DESC, coalesce(m.left_on, m.decided_on, m.applied_on) "
		  "DESC, m.id DESC"
		: "SELECT m.id, m.status, m.union_id, coalesce(o.name, m.union_id) FROM membership m LEFT JOIN org o "
		  "ON o.id = m.union_id WHERE m.person_key = :k "
		  "ORDER BY m.status IN ('active', 'applied') DESC, coalesce(m.left_on, m.decided_on, m.applied_on) "
		  "DESC, m.id DESC");
	int rc;
	*state = HJ_ROSTER_NOT_REACHED;
	if (!st)
		return HJ_ERROR;
	if ((rc = hj_db_bind_text(st, ":k", who)))
		goto done;
	while ((rc = hj_db_step(db, st)) == 1) {
		int here = list_has(x->sub, x->nsub, hj_db_col_text(st, 2));
		if (!here && !x->r->where_else)
			continue;
		found_set(&x->f, st);
		if (strcmp(x->f.status, "active") == 0)
			*state = here ? HJ_ROSTER_HERE : HJ_ROSTER_ELSEWHERE;
		else if (strcmp(x->f.status, "applied") == 0)
			*state = HJ_ROSTER_APPLIED;
		break; /* live ones come first: the first considered decides */
	}
	rc = rc < 0 ? rc : 0;
done:
	hj_db_release(db, st);
	return rc;
}

/* A hub's peer provinces (their audited registries): an active record
 * there is a member elsewhere, in that province (x->f replaced only
 * then: otherwise it keeps the latest record held here). */
static int match_peers(run *x, const char *key, hj_roster_state *state)
{
	for (size_t i = 0; x->peers && i < x->peers->n; i++) {
		hj_db *db = x->peers->reg[i].db;
		sqlite3_stmt *st = hj_db_stmt(db, "SELECT m.id, m.status, m.union_id, coalesce(o.name, m.union_id) "
					      "FROM membership m LEFT JOIN org o ON o.id = m.union_id "
					      "WHERE m.person_key = :k AND m.status = 'active'");
		if (!st)
			return HJ_ERROR;
		int rc = hj_db_bind_text(st, ":k", key);
		if (!rc && (rc = hj_db_step(db, st)) == 1) {
			found_set(&x->f, st);
			snprintf(x->f.province, sizeof x->f.province, "%s", x->peers->reg[i].province);
			*state = HJ_ROSTER_ELSEWHERE;
		}
		hj_db_release(db, st);
		if (rc < 0)
			return rc;
		if (*state == HJ_ROSTER_ELSEWHERE)
			return 0;
	}
	return 0;
}

static int bad_row(run *x, hj_roster_row *row, const char *why, hj_roster_fn fn, void *arg)
{
	row->state = HJ_ROSTER_BAD;
	row->why = why;
	x->r->bad++;
	return fn ? fn(arg, row) : 0;
}

static int group_index(const run *x, const char *g)
{
	for (size_t i = 0; i < x->ngroups; i++)
		if (strcmp(x->groups[i], g) == 0)
			return (int)i;
	return -1;
}

/* Who the row names, checked: its number normalised into idno (and its
 * key derived where the node holds the secret, into key), or its key.
 * 0 with *who set; 1 with why filled (a bad row); <0 error. */
static int row_person(run *x, hj_roster_row *row, const char *id, const char *given, char idno[19], char key[65],
		      const char **who, char *why, size_t whysz)
{
	unsigned how = 0;
	*who = NULL;
	if (id) {
		if (hj_idnum_normalise(idno, id, &how)) {
			snprintf(why, whysz, "%s", hj_error_last()); /* positions only, never the digits */
			return 1;
		}
		x->r->upgraded += (how & HJ_IDNUM_UPGRADED) != 0;
		row->id_number = idno;
		if (hj_node_person_key(x->n, idno, key))
			row->person_key = key;
		*who = row->person_key ? key : idno;
		return 0;
	}
	if (!given) {
		snprintf(why, whysz, "no id_number (nor person_key)");
		return 1;
	}
	if (!hj_is_hex64(given)) {
		snprintf(why, whysz, "person_key: not 64 lower-case hex digits");
		return 1;
	}
	x->r->by_key++;
	row->person_key = given;
	*who = given;
	return 0;
}

static int region_of(run *x, hj_roster_row *row, const char *idno)
{
	free(x->region_name);
	x->region_name = NULL;
	row->region = row->region_name = "";
	if (!idno)
		return 0;
	memcpy(x->region, idno, 6);
	x->region[6] = '\0';
	row->region = x->region;
	int rc = hj_db_get_text(&x->region_name, x->n->db, "SELECT name FROM region WHERE code = :c", ":c",
				x->region);
	if (rc == 0)
		row->region_name = x->region_name;
	return rc == HJ_ENOTFOUND ? 0 : rc;
}

/* One record of the list: checked, matched, counted, handed on. */
static int compare_row(run *x, const int col[R_COUNT], char **f, size_t nf, long line, hj_roster_fn fn, void *arg)
{
	char idno[19], key[65], why[300];
	const char *who;
	long first;
	hj_roster_state state;
	int rc;
#define FIELD(k) (col[k] >= 0 && (size_t)col[k] < nf && f[col[k]][0] ? f[col[k]] : NULL)
	hj_roster_row row = {.line = line, .name = FIELD(R_NAME), .phone = FIELD(R_PHONE), .plate = FIELD(R_PLATE),
			     .region = "", .region_name = "", .member = "", .union_id = "", .union_name = "",
			     .status = "", .province = ""};
	const char *grp = FIELD(R_GROUP) ? FIELD(R_GROUP) : x->group;
	if ((rc = row_person(x, &row, FIELD(R_ID), FIELD(R_KEY), idno, key, &who, why, sizeof why)))
		return rc < 0 ? rc : bad_row(x, &row, why, fn, arg);
#undef FIELD
	int g = group_index(x, grp);
	if (g < 0) {
		snprintf(why, sizeof why, "unknown worker group: one of %s", x->group_list);
		return bad_row(x, &row, why, fn, arg);
	}
	row.group = x->groups[g];
	if ((rc = seen_check(&x->seen, who, line, &first)))
		return rc;
	if (first) {
		snprintf(why, sizeof why, "the same person as line %ld (counted there)", first);
		return bad_row(x, &row, why, fn, arg);
	}
	memset(&x->f, 0, sizeof x->f);
	if ((rc = region_of(x, &row, row.id_number)) || (rc = match_home(x, who, !row.person_key, &state)))
		return rc;
	if (state == HJ_ROSTER_NOT_REACHED && x->r->where_else && row.person_key &&
	    (rc = match_peers(x, row.person_key, &state)))
		return rc;
	row.state = state;
	row.member = x->f.member, row.union_id = x->f.union_id, row.union_name = x->f.union_name;
	row.status = x->f.status, row.province = x->f.province;
	hj_roster_count *c = &x->r->counts[g];
	c->rows++;
	c->here += state == HJ_ROSTER_HERE;
	c->elsewhere += state == HJ_ROSTER_ELSEWHERE;
	c->applied += state == HJ_ROSTER_APPLIED;
	c->not_reached += state == HJ_ROSTER_NOT_REACHED;
	return fn ? fn(arg, &row) : 0;
}

static int compare_rows(run *x, hj_csv *csv, const int col[R_COUNT], hj_roster_fn fn, void *arg)
{
	char **f;
	size_t nf;
	long line;
	int rc;
	while ((rc = hj_csv_next(csv, &f, &nf, &line)) != 0) {
		x->r->records++;
		if (rc == HJ_EINVALID) { /* malformed: the reader's message names no field's value */
			hj_roster_row row = {.line = line, .region = "", .region_name = "", .member = "",
					     .union_id = "", .union_name = "", .status = "", .province = ""};
			char why[300];
			snprintf(why, sizeof why, "%s", hj_error_last());
			if ((rc = bad_row(x, &row, why, fn, arg)))
				return rc;
			continue;
		}
		if (rc < 0 || (rc = compare_row(x, col, f, nf, line, fn, arg)))
			return rc;
	}
	return 0;
}

void hj_roster_free(hj_roster *r)
{
	if (!r)
		return;
	free(r->union_id);
	free(r->union_name);
	free(r->counts);
	free(r);
}

int hj_roster_compare(hj_roster **out, hj_node *n, hj_csv *csv, const char *path, const char *union_id,
		      const char *group, hj_roster_fn fn, void *arg)
{
	run x = {.n = n};
	int col[R_COUNT], rc;
	long line = 0;
	*out = NULL;
	if (!(x.r = calloc(1, sizeof *x.r)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	x.r->where_else = n->person_secret != NULL;
	if ((rc = union_open(&x, union_id ? union_id : n->union_id)) || (rc = groups_open(&x)))
		goto done;
	x.group = group ? group : DEFAULT_GROUP;
	if (group_index(&x, x.group) < 0) {
		rc = hj_error_set(HJ_EINVALID, "unknown worker group '%s': one of %s", x.group, x.group_list);
		goto done;
	}
	if ((rc = hj_csv_header(col, csv, path, columns, R_COUNT, 1, NULL, &line)))
		goto done;
	if (col[R_ID] < 0 && col[R_KEY] < 0) {
		rc = hj_error_set(HJ_EINVALID, "%s line %ld: a column id_number (or person_key) is required", path,
				  line);
		goto done;
	}
	if (x.r->where_else && (rc = hj_peer_lookup_open(&x.peers, n->db, n->dir)))
		goto done;
	rc = compare_rows(&x, csv, col, fn, arg);
done:
	list_free(x.sub, x.nsub);
	list_free(x.groups, x.ngroups);
	free(x.group_list);
	free(x.region_name);
	seen_free(&x.seen);
	hj_peer_lookup_free(x.peers);
	if (rc) {
		hj_roster_free(x.r);
		return rc;
	}
	*out = x.r;
	return 0;
}
