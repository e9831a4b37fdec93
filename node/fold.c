/*
 * fold.c — dispatch of ops to their handlers, authority, and the savepoint
 * that makes every op all-or-nothing. The handlers live in node/ops_*.c.
 */
#include "fold.h"
#include "error.h"
#include "hex.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*fold_fn)(hj_db *, const hj_foldctx *, const hj_json *, hj_verdict *);

static const struct {
	const char *name;
	fold_fn fn;
} handlers[] = {
	{"org.create", hj_fold_org_create},
	{"org.update", hj_fold_org_update},
	{"node.enroll", hj_fold_node_enroll},
	{"member.apply", hj_fold_member_apply},
	{"member.approve", hj_fold_member_decide},
	{"member.reject", hj_fold_member_decide},
	{"member.update", hj_fold_member_update},
	{"member.leave", hj_fold_member_leave},
	{"member.hand_down", hj_fold_member_hand_down},
	{"member.transfer_offer", hj_fold_transfer_open},
	{"member.transfer_request", hj_fold_transfer_open},
	{"member.transfer_accept", hj_fold_transfer_decide},
	{"member.transfer_decline", hj_fold_transfer_decide},
	{"member.transfer_withdraw", hj_fold_transfer_decide},
	{"province.peer", hj_fold_province_peer},
	{"province.transfer_in", hj_fold_province_transfer_in},
	{"province.transfer_out", hj_fold_province_transfer_out},
	{"service.define", hj_fold_service_define},
	{"service.update", hj_fold_service_update},
	{"service.point", hj_fold_service_point},
	{"service.deliver", hj_fold_service_deliver},
	{"survey.record", hj_fold_survey_record},
	{"target.set", hj_fold_target_set},
};

int hj_is_hex64(const char *s)
{
	return hj_hex_is_lower(s, 32); /* signed op fields: lower case only */
}

int hj_fold_op_known(const hj_json *op)
{
	const char *name = hj_json_get_str(op, "op");
	int64_t ver = 0;
	if (name && strcmp(name, "hub.sequence") == 0)
		return 0; /* its format versions are hub_entry.c's to check */
	int known = 0;
	for (size_t i = 0; name && i < sizeof handlers / sizeof handlers[0]; i++)
		known |= strcmp(handlers[i].name, name) == 0;
	if (!known || hj_json_get_int(op, "v", &ver) || ver > HJ_OP_VERSION)
		return hj_error_set(HJ_EVERSION, "op %.40s version %lld is newer than this huiji: "
				    "upgrade huiji to read entries from the hub", name ? name : "?", (long long)ver);
	return 0;
}

int hj_reject(hj_verdict *v, const char *reason, const char *fmt, ...)
{
	va_list ap;
	v->applied = 0;
	snprintf(v->reason, sizeof v->reason, "%s", reason);
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof v->detail, fmt, ap);
	va_end(ap);
	/* A detail cut at its 255 bytes may end inside a character (a long
	 * union name): cut it before that character, so every verdict stays
	 * valid UTF-8 wherever it is written. */
	size_t bad = 0;
	if (!hj_utf8_valid(v->detail, strlen(v->detail), &bad))
		v->detail[bad] = '\0';
	return 0;
}

void hj_fold_op_id(char *out, size_t outsz, const hj_foldctx *ctx)
{
	snprintf(out, outsz, "%s:%llu:%u", ctx->actor, (unsigned long long)ctx->seq, ctx->index);
}

const hj_json *hj_fold_payload_ops(const hj_json *payload, int *rc)
{
	int64_t ver = 0;
	*rc = 0;
	if (!payload || payload->type != HJ_JOBJ || hj_json_get_int(payload, "v", &ver)) {
		*rc = hj_error_set(HJ_ECORRUPT, "payload: not an object with an integer \"v\"");
		return NULL;
	}
	if (ver > HJ_PAYLOAD_VERSION) {
		*rc = hj_error_set(HJ_EVERSION, "payload version %lld is newer than this huiji (%d): "
				   "upgrade huiji to read entries from the hub", (long long)ver, HJ_PAYLOAD_VERSION);
		return NULL;
	}
	const hj_json *ops = hj_json_get(payload, "ops");
	if (ver < 1 || !ops || ops->type != HJ_JARR) {
		*rc = hj_error_set(HJ_ECORRUPT, "payload: missing \"ops\" array");
		return NULL;
	}
	return ops;
}

int hj_org_in_subtree(hj_db *db, const char *org, const char *ancestor)
{
	/* Walk up at most 32 levels: the tree is shallow (province .. community)
	 * and the bound makes a corrupt cycle harmless. */
	char *cur = strdup(org);
	int found = 0;
	if (!cur)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	for (int depth = 0; cur && depth < 32; depth++) {
		if (strcmp(cur, ancestor) == 0) {
			found = 1;
			break;
		}
		char *up = NULL;
		int rc = hj_db_get_text(&up, db, "SELECT parent FROM org WHERE id = :id", ":id", cur);
		free(cur);
		cur = up;
		if (rc == HJ_ENOTFOUND) /* no such org, or the root: not below */
			break;
		if (rc < 0) /* a failed lookup is not "outside the subtree" */
			return rc;
	}
	free(cur);
	return found;
}

int hj_fold_authority(hj_db *db, const hj_foldctx *ctx, const char *org_id, hj_verdict *v)
{
	char *role = NULL, *unit = NULL;
	int rc = 1;
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT role, union_id FROM node WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	int row = hj_db_bind_text(st, ":id", ctx->actor);
	if (!row)
		row = hj_db_step(db, st);
	if (row < 0) {
		hj_db_release(db, st);
		return row;
	}
	if (row && ((rc = hj_db_col_dup(&role, st, 0)) || (rc = hj_db_col_dup(&unit, st, 1)))) {
		hj_db_release(db, st);
		goto done;
	}
	rc = 1;
	hj_db_release(db, st);
	if (!row && ctx->self && strcmp(ctx->actor, ctx->self) == 0) {
		/* Not enrolled here yet: a node acts in its own union offline. */
		role = strdup(ctx->self_is_root ? "hub" : "union");
		unit = strdup(ctx->self_union ? ctx->self_union : "");
	} else if (!row) {
		int64_t n = 0;
		if ((rc = hj_db_get_int(db, "SELECT count(*) FROM node", NULL, NULL, &n)))
			return rc;
		if (n == 0) {
			/* Bootstrap: the province's very first change set creates the
			 * root and enrols its hub before anyone is enrolled. */
			return 0;
		}
		return hj_reject(v, "unknown_node", "node %s is not enrolled", ctx->actor), 1;
	}
	if (!role || !unit) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	if (strcmp(role, "hub") == 0) {
		rc = 0;
	} else if (strcmp(role, "auditor") == 0) {
		hj_reject(v, "no_authority", "node %s is an auditor and may not change the registry", ctx->actor);
	} else if (org_id && (rc = hj_org_in_subtree(db, org_id, unit)) < 0) {
		goto done; /* an I/O error must not become a signed no_authority */
	} else if (org_id && rc == 1) {
		rc = 0;
	} else {
		rc = 1;
		hj_reject(v, "no_authority", "node %s acts for %s; %s is outside its subtree",
			  ctx->actor, unit, org_id ? org_id : "(none)");
	}
done:
	free(role);
	free(unit);
	return rc;
}

/* Does a member op carry a person's fields in plaintext: an application's
 * or request's person, an update's new name, phone or plate, a snapshot's
 * person? From op version 3 every one of them is sealed (person_seal.h,
 * transfer_seal.h), so a client that sends them in the clear is refused
 * rather than read (its bytes are in the hub's repository all the same:
 * the verdict says so to its operator). */
static int plaintext_person(const char *name, const hj_json *op)
{
	static const char *const fields[] = {"name", "id_number", "phone", "plate"};
	if (strncmp(name, "member.", 7) != 0)
		return 0;
	const hj_json *people[] = {hj_json_get(op, "person"), hj_json_get(hj_json_get(op, "snapshot"), "person"),
				   strcmp(name, "member.update") == 0 ? op : NULL};
	for (size_t p = 0; p < sizeof people / sizeof *people; p++)
		for (size_t f = 0; people[p] && people[p]->type == HJ_JOBJ && f < sizeof fields / sizeof *fields; f++)
			if (hj_json_get(people[p], fields[f]))
				return 1;
	return 0;
}

int hj_fold_op(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	memset(v, 0, sizeof *v);
	const char *name = hj_json_get_str(op, "op");
	int64_t ver = 0;
	if (!name || hj_json_get_int(op, "v", &ver))
		return hj_reject(v, "invalid", "op without \"op\" name or integer \"v\"");
	fold_fn fn = NULL;
	for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
		if (strcmp(handlers[i].name, name) == 0)
			fn = handlers[i].fn;
	if (!fn || ver > HJ_OP_VERSION)
		return hj_error_set(HJ_EVERSION, "op %.40s version %lld is newer than this huiji: "
				    "upgrade huiji to read entries from the hub", name, (long long)ver);
	if (ver >= HJ_OP_SEALED_ONLY && plaintext_person(name, op))
		return hj_reject(v, "invalid", "%s: personal fields in plaintext (from op version %d they travel "
				 "sealed)", name, HJ_OP_SEALED_ONLY);
	int rc = hj_db_exec(db, "SAVEPOINT fold_op");
	if (rc)
		return rc;
	rc = fn(db, ctx, op, v);
	if (rc == 0 && v->applied == 0 && v->reason[0] == '\0')
		v->applied = 1;
	if (rc == 0 && v->applied) {
		rc = hj_db_exec(db, "RELEASE fold_op");
	} else {
		int rrc = hj_db_exec(db, "ROLLBACK TO fold_op");
		if (!rrc)
			rrc = hj_db_exec(db, "RELEASE fold_op");
		if (!rc)
			rc = rrc;
	}
	return rc;
}
