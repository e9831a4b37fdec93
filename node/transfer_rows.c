/*
 * transfer_rows.c — the rows of a transfer (transfer_rows.h).
 */
#include "transfer_rows.h"
#include "error.h"
#include "person_seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hj_mrow_free(hj_mrow *m)
{
	free(m->union_id);
	free(m->status);
	free(m->person_key);
	free(m->grp);
	free(m->channel);
	free(m->platform);
	free(m->joined_on);
	free(m->decided_on);
	memset(m, 0, sizeof *m);
}

int hj_mrow_get(hj_mrow *m, hj_db *db, const char *id)
{
	memset(m, 0, sizeof *m);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT union_id, status, person_key, grp, channel, platform, joined_on, decided_on "
					  "FROM membership WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":id", id);
	if (!rc)
		rc = hj_db_step(db, st);
	if (rc == 1) {
		char **cols[] = {&m->union_id, &m->status, &m->person_key, &m->grp, &m->channel, &m->platform,
				 &m->joined_on, &m->decided_on};
		rc = 0;
		for (int i = 0; !rc && i < 8; i++)
			if (sqlite3_column_type(st, i) != SQLITE_NULL)
				rc = hj_db_col_dup(cols[i], st, i);
	} else if (rc == 0) {
		rc = HJ_ENOTFOUND;
	}
	hj_db_release(db, st);
	if (rc)
		hj_mrow_free(m);
	return rc;
}

static int set_opt(hj_json *o, const char *key, const char *val)
{
	return val ? hj_json_set_str(o, key, val) : 0;
}

/* A column's text, NULL for SQL NULL (an absent plate stays absent). */
static const char *col_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : hj_db_col_text(st, i);
}

int hj_fold_transfer_snapshot(hj_json **out, hj_db *db, const char *member_id)
{
	hj_mrow m;
	*out = NULL;
	int rc = hj_mrow_get(&m, db, member_id);
	if (rc)
		return rc;
	hj_json *snap = hj_json_new(HJ_JOBJ), *person = hj_json_new(HJ_JOBJ);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT name, id_number, phone, plate, updated_op, seal FROM person "
					  "WHERE person_key = :k");
	if (!snap || !person || !st) {
		rc = st ? hj_error_set(HJ_ENOMEM, "out of memory") : HJ_ERROR;
		goto done;
	}
	if ((rc = hj_db_bind_text(st, ":k", m.person_key)) || (rc = hj_db_step(db, st)) < 0)
		goto done;
	if (rc == 0) {
		rc = hj_error_set(HJ_ECORRUPT, "membership %s names a person the registry does not hold", member_id);
		goto done;
	}
	if (hj_json_set_str(person, "key", m.person_key) || set_opt(person, "name", col_or_null(st, 0)) ||
	    set_opt(person, "id_number", col_or_null(st, 1)) || set_opt(person, "phone", col_or_null(st, 2)) ||
	    set_opt(person, "plate", col_or_null(st, 3)) || set_opt(person, "seal", col_or_null(st, 5)) ||
	    set_opt(snap, "person_op", col_or_null(st, 4)) ||
	    hj_json_set_str(snap, "union", m.union_id) ||
	    hj_json_set_str(snap, "group", m.grp) || hj_json_set_str(snap, "channel", m.channel) ||
	    set_opt(snap, "platform", m.platform) || set_opt(snap, "joined_on", m.joined_on)) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	rc = hj_json_set(snap, "person", person);
	person = NULL;
	if (rc) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	*out = snap;
	snap = NULL;
done:
	if (st)
		hj_db_release(db, st);
	hj_json_free(snap);
	hj_json_free(person);
	hj_mrow_free(&m);
	return rc;
}

/* Does this fold keep the rows of union `u`? The hub and an auditor keep
 * everything; a county its own subtree (replay.c's SUBTREE mode). */
int hj_transfer_keeps_union(hj_db *db, const hj_foldctx *ctx, const char *u)
{
	if (!ctx->self_union || ctx->self_is_root || strcmp(u, ctx->self_union) == 0)
		return 1;
	return hj_org_in_subtree(db, u, ctx->self_union);
}

/* A registry row whose person this node may not open (sealed, not to it:
 * name and id_number '' with a seal) cannot check the snapshot's fields:
 * they are taken as given (the hub, which opens every seal, checked them);
 * the key, the seal and the record are still compared. */
static int shut_fields(hj_json *want, const hj_json *given)
{
	static const char *const fields[] = {"name", "id_number", "phone", "plate"};
	hj_json *wp = (hj_json *)hj_json_get(want, "person");
	const hj_json *gp = hj_json_get(given, "person");
	const char *name = hj_json_get_str(wp, "name");
	if (!wp || !gp || !hj_json_get_str(wp, "seal") || !name || name[0])
		return 0;
	hj_json *np = hj_json_new(HJ_JOBJ);
	int rc = np ? 0 : HJ_ENOMEM;
	for (size_t i = 0; !rc && i < wp->count; i++) { /* rebuilt in the snapshot's key order */
		const char *k = wp->keys[i], *v = hj_json_get_str(wp, k);
		int field = 0;
		for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
			field |= strcmp(k, fields[f]) == 0;
		if (field)
			continue;
		rc = hj_json_set_str(np, k, v);
		if (!rc && strcmp(k, "key") == 0)
			for (size_t f = 0; !rc && f < sizeof fields / sizeof *fields; f++)
				if (hj_json_get_str(gp, fields[f]))
					rc = hj_json_set_str(np, fields[f], hj_json_get_str(gp, fields[f]));
	}
	if (!rc)
		rc = hj_json_set(want, "person", np);
	else
		hj_json_free(np);
	return rc ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
}

/* A plaintext snapshot (op version 2 and before) equals the registry's
 * for member `id`, byte for byte? 1 yes, 0 no. */
static int plain_matches(hj_db *db, const char *id, const hj_json *given, int *rc)
{
	hj_json *want = NULL;
	hj_buf a = HJ_BUF_INIT, b = HJ_BUF_INIT;
	int same = 0;
	if (!(*rc = hj_fold_transfer_snapshot(&want, db, id)) && !(*rc = shut_fields(want, given)) &&
	    !(*rc = hj_json_write(&a, want)) && !(*rc = hj_json_write(&b, given)))
		same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
	hj_json_free(want);
	hj_buf_free(&a);
	hj_buf_free(&b);
	return same;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The record's fields of a snapshot, beside "person". */
static const char *const record_keys[] = {"person_op", "union", "group", "channel", "platform", "joined_on"};
static const char *const person_fields[] = {"name", "id_number", "phone", "plate"};

/* A sealed snapshot (transfer_seal.h) in exactly its form: the record's
 * keys as strings, a person of "sealed" with an optional "key" (none from
 * a county, op version 4: hj_fold_key_form) and "seal". */
static int sealed_form(const hj_json *given)
{
	const hj_json *gp = hj_json_get(given, "person");
	for (size_t i = 0; i < given->count; i++) {
		int known = strcmp(given->keys[i], "person") == 0;
		for (size_t k = 0; !known && k < sizeof record_keys / sizeof *record_keys; k++)
			known = strcmp(given->keys[i], record_keys[k]) == 0 && given->items[i]->type == HJ_JSTR;
		if (!known)
			return 0;
	}
	const hj_json *seal = hj_json_get(gp, "seal"), *key = hj_json_get(gp, "key");
	size_t want = 1 + (seal != NULL) + (key != NULL);
	return gp->count == want && (!seal || hj_is_hex64(hj_json_get_str(gp, "seal"))) &&
	       (!key || hj_is_hex64(hj_json_get_str(gp, "key"))) && hj_json_get(gp, "sealed") &&
	       hj_json_get(gp, "sealed")->type == HJ_JOBJ;
}

/* A sealed snapshot against the registry: the record and the person's key
 * and seal as they are; the fields opened where this node may open both
 * the snapshot and the row, else taken on the hub's word (the hub opens
 * every seal: one not sealed to it is invalid there). */
static int sealed_check(hj_db *db, const hj_foldctx *ctx, const char *opname, const char *id, const hj_json *given,
			hj_verdict *v)
{
	hj_json *want = NULL, *view = NULL;
	int readable = 0, rc = 0, same = sealed_form(given);
	if (same && (rc = hj_fold_transfer_snapshot(&want, db, id)))
		return rc;
	const hj_json *wp = hj_json_get(want, "person"), *gp = hj_json_get(given, "person");
	for (size_t k = 0; same && k < sizeof record_keys / sizeof *record_keys; k++)
		same = same_str(hj_json_get_str(want, record_keys[k]), hj_json_get_str(given, record_keys[k]));
	same = same && (!hj_json_get(gp, "key") || same_str(hj_json_get_str(wp, "key"), hj_json_get_str(gp, "key"))) &&
	       same_str(hj_json_get_str(wp, "seal"), hj_json_get_str(gp, "seal"));
	if (same && (rc = hj_person_view(&view, &readable, ctx, gp)) == HJ_ECORRUPT) {
		rc = hj_reject(v, "invalid", "%s: the snapshot's %s", opname, hj_error_last()) + 1;
		goto done;
	}
	const char *held_name = hj_json_get_str(wp, "name");
	int row_shut = hj_json_get_str(wp, "seal") && held_name && !held_name[0];
	if (rc || !same)
		goto done;
	if (!readable || row_shut) {
		rc = hj_fold_person_shut(ctx, opname, hj_json_get_str(gp, "key"), v);
		goto done;
	}
	for (size_t f = 0; same && f < sizeof person_fields / sizeof *person_fields; f++)
		same = same_str(hj_json_get_str(wp, person_fields[f]), hj_json_get_str(view, person_fields[f]));
done:
	if (!rc && !same)
		rc = hj_reject(v, "invalid", "%s: the snapshot of %s is not the registry's", opname, id) + 1;
	hj_json_free(want);
	hj_json_free(view);
	return rc;
}

int hj_transfer_snapshot_check(hj_db *db, const hj_foldctx *ctx, const char *opname, const char *id,
			       const hj_json *given, hj_verdict *v)
{
	const hj_json *gp = hj_json_get(given, "person");
	if (hj_json_get(gp, "sealed"))
		return sealed_check(db, ctx, opname, id, given, v);
	int rc = 0;
	if (!plain_matches(db, id, given, &rc) && !rc)
		return hj_reject(v, "invalid", "%s: the snapshot of %s is not the registry's", opname, id) + 1;
	return rc;
}

int hj_transfer_snapshot_shape(const hj_json *snap)
{
	const hj_json *person = hj_json_get(snap, "person");
	const hj_json *sealed = hj_json_get(person, "sealed");
	return snap && snap->type == HJ_JOBJ && hj_json_get_str(snap, "union") && hj_json_get_str(snap, "group") &&
	       hj_json_get_str(snap, "channel") && person && person->type == HJ_JOBJ &&
	       (sealed ? sealed_form(snap)
		       : hj_is_hex64(hj_json_get_str(person, "key")) && hj_json_get_str(person, "name") &&
				 hj_json_get_str(person, "id_number"));
}

/* The person row a node builds from a snapshot: a plaintext one as it is;
 * a sealed one opened (shut where this node may not open it, or where its
 * wrap for this node does not open: the hub checked its own and the
 * commitment), keeping the registry row's seal. */
static int snapshot_person(hj_json **out, const hj_foldctx *ctx, const hj_json *person, const char *key)
{
	*out = NULL;
	if (!hj_json_get(person, "sealed"))
		return 0;
	hj_json *view = NULL, *row = hj_json_new(HJ_JOBJ);
	int readable = 0;
	int rc = row ? hj_person_view(&view, &readable, ctx, person) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (rc == HJ_ECORRUPT) { /* not for this node to open after all */
		rc = 0;
		readable = 0;
	}
	if (!rc && (hj_json_set_str(row, "key", key) ||
		    hj_json_set_str(row, "seal", hj_json_get_str(person, "seal"))))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	for (size_t f = 0; !rc && readable && f < sizeof person_fields / sizeof *person_fields; f++)
		if (hj_json_set_str(row, person_fields[f], hj_json_get_str(view, person_fields[f])))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && !readable && (hj_json_set_str(row, "name", "") || hj_json_set_str(row, "id_number", "")))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	hj_json_free(view);
	if (rc)
		hj_json_free(row);
	else
		*out = row;
	return rc;
}

/* The new record in the receiving union, from the snapshot. */
int hj_transfer_start_record(hj_db *db, const hj_foldctx *ctx, const hj_json *snap, const char *key, const char *to,
			     const char *on, const char *from, const char *opid)
{
	const hj_json *person = hj_json_get(snap, "person");
	int64_t held = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM person WHERE person_key = :k", ":k", key, &held);
	/* A person already held keeps its row (it is as current as the
	 * registry); one arriving is taken from the snapshot. */
	/* The row as the registry holding the person has it, down to the op
	 * that last wrote it: every node's rows are the hub's. */
	const char *person_op = hj_json_get_str(snap, "person_op");
	hj_json *row = NULL;
	if (!rc && !held && !(rc = snapshot_person(&row, ctx, person, key)))
		rc = hj_fold_person_upsert(db, row ? row : person, person_op ? person_op : opid);
	hj_json_free(row);
	if (rc)
		return rc;
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO membership(id, person_key, union_id, grp, channel, platform, "
					  "status, applied_on, applied_by, decided_on, decided_by, joined_on, from_member) "
					  "VALUES (:id, :k, :u, :g, :c, :p, 'active', :on, :by, :on, :by, :j, :from)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", opid) || hj_db_bind_text(st, ":k", key) ||
	      hj_db_bind_text(st, ":u", to) || hj_db_bind_text(st, ":g", hj_json_get_str(snap, "group")) ||
	      hj_db_bind_text(st, ":c", hj_json_get_str(snap, "channel")) ||
	      hj_db_bind_text(st, ":p", hj_json_get_str(snap, "platform")) || hj_db_bind_text(st, ":on", on) ||
	      hj_db_bind_text(st, ":by", ctx->actor) || hj_db_bind_text(st, ":j", hj_json_get_str(snap, "joined_on")) ||
	      hj_db_bind_text(st, ":from", from))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_transfer_end_record(hj_db *db, const char *member, const char *on)
{
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE membership SET status = 'transferred', left_on = :on, "
					  "reason = 'transferred' WHERE id = :m");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":on", on) || hj_db_bind_text(st, ":m", member)) ? HJ_ERROR : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_transfer_is_open(hj_db *db, const char *person_key)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT count(*) FROM transfer WHERE status = 'open' AND person_key = :k");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":k", person_key) ? HJ_ERROR : hj_db_step(db, st);
	if (rc == 1)
		rc = sqlite3_column_int64(st, 0) > 0;
	hj_db_release(db, st);
	return rc;
}

int hj_transfer_insert(hj_db *db, const hj_transfer_row *t)
{
	hj_buf text = HJ_BUF_INIT;
	int rc = t->snapshot ? hj_json_write(&text, t->snapshot) : 0;
	sqlite3_stmt *st = rc ? NULL : hj_db_stmt(db, "INSERT INTO transfer(id, kind, person_key, from_member, "
		"from_union, to_union, status, opened_on, opened_by, decided_on, decided_by, by_hub, to_member, snapshot) "
		"VALUES (:id, :kind, :k, :m, :fu, :to, :s, :on, :by, :don, :dby, :hub, :tm, :snap)");
	if (!rc && !st)
		rc = HJ_ERROR;
	if (!rc) {
		rc = (hj_db_bind_text(st, ":id", t->id) || hj_db_bind_text(st, ":kind", t->kind) ||
		      hj_db_bind_text(st, ":k", t->person_key) || hj_db_bind_text(st, ":m", t->from_member) ||
		      hj_db_bind_text(st, ":fu", t->from_union) || hj_db_bind_text(st, ":to", t->to_union) ||
		      hj_db_bind_text(st, ":s", t->status) || hj_db_bind_text(st, ":on", t->opened_on) ||
		      hj_db_bind_text(st, ":by", t->opened_by) || hj_db_bind_text(st, ":don", t->decided_on) ||
		      hj_db_bind_text(st, ":dby", t->decided_by) || hj_db_bind_int(st, ":hub", t->by_hub) ||
		      hj_db_bind_text(st, ":tm", t->to_member) ||
		      hj_db_bind_text(st, ":snap", t->snapshot ? (const char *)text.data : NULL))
			     ? HJ_ERROR
			     : hj_db_step(db, st);
		hj_db_release(db, st);
	}
	hj_buf_free(&text);
	return rc < 0 ? rc : 0;
}

void hj_transfer_read_free(hj_transfer_read *t)
{
	free(t->kind);
	free(t->person_key);
	free(t->from_member);
	free(t->from_union);
	free(t->to_union);
	free(t->status);
	free(t->opened_on);
	hj_json_free(t->snapshot);
	memset(t, 0, sizeof *t);
}

int hj_transfer_get(hj_transfer_read *t, hj_db *db, const char *id)
{
	memset(t, 0, sizeof *t);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT kind, person_key, from_member, from_union, to_union, status, opened_on, "
					  "snapshot FROM transfer WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":id", id);
	if (!rc)
		rc = hj_db_step(db, st);
	if (rc == 1) {
		char **cols[] = {&t->kind, &t->person_key, &t->from_member, &t->from_union, &t->to_union, &t->status,
				 &t->opened_on};
		rc = 0;
		for (int i = 0; !rc && i < 7; i++)
			if (sqlite3_column_type(st, i) != SQLITE_NULL)
				rc = hj_db_col_dup(cols[i], st, i);
		const char *snap = sqlite3_column_type(st, 7) == SQLITE_NULL ? NULL : hj_db_col_text(st, 7);
		if (!rc && snap)
			rc = hj_json_parse(&t->snapshot, snap, strlen(snap));
	} else if (rc == 0) {
		rc = HJ_ENOTFOUND;
	}
	hj_db_release(db, st);
	if (rc)
		hj_transfer_read_free(t);
	return rc;
}

int hj_transfer_close(hj_db *db, const char *id, const char *status, const char *on, const char *by, int by_hub,
		      const char *to_member, const char *from_member, const char *from_union, const hj_json *snapshot)
{
	hj_buf text = HJ_BUF_INIT;
	int rc = snapshot ? hj_json_write(&text, snapshot) : 0;
	sqlite3_stmt *st = rc ? NULL : hj_db_stmt(db, "UPDATE transfer SET status = :s, decided_on = :on, "
		"decided_by = :by, by_hub = :hub, to_member = :tm, from_member = coalesce(:m, from_member), "
		"from_union = coalesce(:fu, from_union), snapshot = coalesce(:snap, snapshot) WHERE id = :id");
	if (!rc && !st)
		rc = HJ_ERROR;
	if (!rc) {
		rc = (hj_db_bind_text(st, ":s", status) || hj_db_bind_text(st, ":on", on) || hj_db_bind_text(st, ":by", by) ||
		      hj_db_bind_int(st, ":hub", by_hub) || hj_db_bind_text(st, ":tm", to_member) ||
		      hj_db_bind_text(st, ":m", from_member) || hj_db_bind_text(st, ":fu", from_union) ||
		      hj_db_bind_text(st, ":snap", snapshot ? (const char *)text.data : NULL) ||
		      hj_db_bind_text(st, ":id", id))
			     ? HJ_ERROR
			     : hj_db_step(db, st);
		hj_db_release(db, st);
	}
	hj_buf_free(&text);
	return rc < 0 ? rc : 0;
}

int hj_transfer_actor_is_hub(hj_db *db, const char *actor)
{
	char *role = NULL;
	int rc = hj_db_get_text(&role, db, "SELECT role FROM node WHERE id = :a", ":a", actor);
	if (rc == HJ_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	rc = strcmp(role, "hub") == 0;
	free(role);
	return rc;
}

int hj_transfer_close_unanswered(hj_db *db, const hj_foldctx *ctx, const hj_json *op, int withdraw)
{
	int by_hub = hj_transfer_actor_is_hub(db, ctx->actor);
	if (by_hub < 0)
		return by_hub;
	return hj_transfer_close(db, hj_json_get_str(op, "transfer"), withdraw ? "withdrawn" : "declined",
				 hj_json_get_str(op, "on"), ctx->actor, by_hub, NULL, NULL, NULL, NULL);
}
