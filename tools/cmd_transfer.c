/*
 * cmd_transfer.c — `huiji member hand-down` (a membership record moved to
 * a union below, in one step: the turnover pool's hand-down) and the
 * record's history that `member show` prints: every union the membership
 * passed through, with dates and the op that moved it.
 */
#include "cli.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt hand_down_opts[] = {
	{"member", 1, "membership id (an active member of a union this node answers for)"},
	{"to", 1, "the union below that takes the record"},
	{"on", 1, "date YYYY-MM-DD (default: today by this computer's clock)"},
	{NULL, 0, NULL},
};

int cmd_member_hand_down(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	hj_json *op = NULL, *snap = NULL;
	char today[11], id[160];
	int given = 0;
	int rc = cli_parse(&c, "member hand-down", hand_down_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "member") || !cli_need(&c, "to"))
		return cli_fail(HJ_EINVALID);
	const char *on = cli_date(&c, today, &given);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	/* The snapshot is what the registry holds now: the fold checks it is. */
	rc = hj_fold_transfer_snapshot(&snap, n->db, cli_get(&c, "member"));
	if (rc == HJ_ENOTFOUND)
		rc = hj_error_set(HJ_ENOTFOUND, "member hand-down: no membership %s here", cli_get(&c, "member"));
	if (!rc && (!(op = cli_op_new("member.hand_down")) || hj_json_set_str(op, "member", cli_get(&c, "member")) ||
		    hj_json_set_str(op, "to", cli_get(&c, "to")) || hj_json_set_str(op, "on", on)))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc) {
		rc = hj_json_set(op, "snapshot", snap) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
		snap = NULL; /* taken, even on failure */
	}
	if (!rc) {
		rc = cli_run_op(n, op, id, sizeof id);
		op = NULL;
	}
	if (!rc)
		printf("handed down %s to %s as %s on %s%s\n", cli_get(&c, "member"), cli_get(&c, "to"), id, on,
		       given ? "" : CLI_TODAY_NOTE);
	hj_json_free(op);
	hj_json_free(snap);
	hj_node_close(n);
	return cli_fail(rc);
}

/* The records before `member` in its chain, oldest first, then `member`:
 * each with its union, its dates and the op that started it. A county
 * holds the part of the chain in its subtree; the hub holds it all. */
int cli_member_history(hj_node *n, const char *member)
{
	sqlite3_stmt *st = hj_db_stmt(n->db,
		"WITH RECURSIVE chain(id, depth) AS (SELECT :m, 0 UNION ALL "
		"SELECT m.from_member, c.depth + 1 FROM membership m JOIN chain c ON m.id = c.id "
		"WHERE m.from_member IS NOT NULL AND c.depth < 1000) "
		"SELECT c.id, m.union_id, m.status, coalesce(m.decided_on, m.applied_on), coalesce(m.left_on, ''), "
		"coalesce(t.kind, ''), coalesce(t.decided_by, '') "
		"FROM chain c LEFT JOIN membership m ON m.id = c.id LEFT JOIN transfer t ON t.to_member = c.id "
		"ORDER BY c.depth DESC");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":m", member), first = 1;
	while (!rc && (rc = hj_db_step(n->db, st)) == 1) {
		rc = 0;
		if (first)
			printf("history     (oldest first)\n");
		first = 0;
		if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
			printf("  %-22s (held by another node)\n", hj_db_col_text(st, 0));
			continue;
		}
		const char *kind = hj_db_col_text(st, 5), *left = hj_db_col_text(st, 4);
		printf("  %-22s %-16s %-11s from %s", hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2),
		       hj_db_col_text(st, 3));
		if (left[0])
			printf(" to %s", left);
		if (kind[0])
			printf("  (%s by %s)", strcmp(kind, "hand_down") == 0 ? "handed down" : kind, hj_db_col_text(st, 6));
		printf("\n");
	}
	hj_db_release(n->db, st);
	return rc < 0 ? rc : 0;
}
