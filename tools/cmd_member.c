/*
 * cmd_member.c — `huiji member apply|approve|reject|update|leave|show|list`
 * (hand-down, transfer, accept, decline, transfers: cmd_transfer.c).
 *
 * Input is checked here for a clear message before anything is recorded;
 * the fold checks the same rules again (it is what the hub runs). Personal
 * fields are printed masked unless --reveal.
 */
#include "cli.h"
#include "application.h"
#include "person_seal.h"
#include "error.h"
#include "idnum.h"
#include "mask.h"
#include "phone.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt apply_opts[] = {
	{"name", 1, "applicant's name (UTF-8)"},
	{"id-number", 1, "resident ID number: 18 characters (full-width digits and spaces are fine; a 15-digit "
			 "number from before 1999 is upgraded)"},
	{"phone", 1, "mainland mobile number"},
	{"plate", 1, "vehicle plate (optional)"},
	{"group", 1, "worker group, e.g. truck_driver (see schema/003_vocab.sql)"},
	{"channel", 1, "entrance: platform_app|qr_oneclick|mobile_window|outreach|inspection|transfer"},
	{"platform", 1, "platform, e.g. yunmanman (optional)"},
	{"union", 1, "union receiving the application (default: this node's)"},
	{"on", 1, "application date YYYY-MM-DD (default: today by this computer's clock)"},
	{"approve", 0, "approve at once (join at once, 马上入会)"},
	{NULL, 0, "huiji member apply --union qh-xn-cz --name 张三 --id-number 630103198511020010 --phone 13800000000 "
		  "--group truck_driver --channel qr_oneclick --platform yunmanman --approve"},
};

static hj_json *apply_op(const cli *c, hj_node *n, const char *on, int *rc)
{
	hj_json *op = NULL;
	hj_application a = {
		.name = cli_get(c, "name"), .id_number = cli_get(c, "id-number"), .phone = cli_get(c, "phone"),
		.group = cli_get(c, "group"), .channel = cli_get(c, "channel"), .on = on,
		.platform = cli_get(c, "platform"), .plate = cli_get(c, "plate"), .union_id = cli_get(c, "union"),
	};
	if ((*rc = hj_application_op(&op, n, &a)))
		hj_error_wrap(*rc, "member apply: ");
	return op;
}

/* An unknown six-digit region is only a warning: codes change, and an ID
 * keeps the code of where it was first issued (regions/README). Said after
 * the op is recorded, so a refusal stays one line. */
/* What normalising the ID number did, said after the outcome line (masked:
 * the clerk sees which number was recorded, a log does not). */
static void note_normalised(const char *idno, unsigned how)
{
	char masked[19];
	hj_mask_idnum(masked, idno);
	if (how & HJ_IDNUM_UPGRADED)
		printf("note: the ID number was a 15-digit number from before 1999; recorded in its 18-digit form %s\n",
		       masked);
	else if (how)
		printf("note: the ID number was typed with %s; recorded as %s\n",
		       how & HJ_IDNUM_FULLWIDTH ? "full-width characters" : "spaces", masked);
}

static void warn_old_region(hj_node *n, const char *idno)
{
	hj_idnum id;
	int64_t known = 0;
	/* Only a warning, after the op is recorded: a failed lookup says
	 * nothing either way, so it warns of nothing. */
	if (hj_idnum_parse(&id, idno) == 0 &&
	    hj_db_get_int(n->db, "SELECT count(*) FROM region WHERE code = :c", ":c", id.region, &known) == 0 && !known)
		fprintf(stderr, "huiji: warning: the ID number's region code is not in the 2022 division list "
				"(older codes are genuine); accepted\n");
}

static int member_apply(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	hj_batch b;
	hj_verdict v;
	char today[11], mid[160];
	int given;
	int rc = cli_parse(&c, "member apply", apply_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	const char *on = cli_date(&c, today, &given);
	char idno[19];
	unsigned how = 0;
	/* Only for the note: apply_op normalises (and refuses) the same way. */
	if (hj_idnum_normalise(idno, cli_get(&c, "id-number"), &how))
		how = 0;
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	hj_json *op = NULL;
	if ((rc = cli_check_vocab(n, "worker group", "worker_group", cli_get(&c, "group"), 1)) ||
	    (rc = cli_check_vocab(n, "channel", "channel", cli_get(&c, "channel"), 1)) ||
	    (rc = cli_check_vocab(n, "platform", "platform", cli_get(&c, "platform"), 1)))
		goto done;
	op = apply_op(&c, n, on, &rc);
	if (!op)
		goto done;
	if ((rc = hj_batch_begin(&b, n))) {
		hj_json_free(op);
		goto done;
	}
	if ((rc = hj_batch_apply(&b, op, &v, mid, sizeof mid)))
		goto abort;
	if (!v.applied) {
		rc = hj_error_set(HJ_ECONFLICT, "member apply refused (%s): %s", v.reason, v.detail);
		goto abort;
	}
	if (cli_flag(&c, "approve")) {
		hj_json *ap = cli_op_new("member.approve");
		if (!ap || hj_json_set_str(ap, "member", mid) || hj_json_set_str(ap, "on", on)) {
			hj_json_free(ap);
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			goto abort;
		}
		if ((rc = hj_batch_apply(&b, ap, &v, NULL, 0)))
			goto abort;
		if (!v.applied) {
			rc = hj_error_set(HJ_ECONFLICT, "member approve refused (%s): %s", v.reason, v.detail);
			goto abort;
		}
	}
	if ((rc = hj_batch_commit(&b, NULL)) || (rc = cli_flush_outbox(n)))
		goto done;
	/* The date that was signed, and whether it came from this computer's
	 * clock (which may be off: issue 7 #13). */
	printf("%s %s on %s%s\n", cli_flag(&c, "approve") ? "admitted" : "applied", mid, on,
	       given ? "" : CLI_TODAY_NOTE);
	note_normalised(idno, how);
	warn_old_region(n, idno);
	goto done;
abort:
	hj_batch_abort(&b);
done:
	hj_node_close(n);
	return cli_fail(rc);
}

static const cli_opt approve_opts[] = {
	{"member", 1, "membership id (as printed by member apply)"},
	{"on", 1, "date YYYY-MM-DD (default: today by this computer's clock)"},
	{NULL, 0, "huiji member approve --member qh-xn-cz:3:0 --on 2026-11-02"},
};

static const cli_opt reject_opts[] = {
	{"member", 1, "membership id (as printed by member apply)"},
	{"on", 1, "date YYYY-MM-DD (default: today by this computer's clock)"},
	{"reason", 1, "why, in words the applicant may be told"},
	{NULL, 0, "huiji member reject --member qh-xn-cz:3:0 --reason \"not a driver\""},
};

static const cli_opt leave_opts[] = {
	{"member", 1, "membership id"},
	{"on", 1, "date YYYY-MM-DD (default: today by this computer's clock)"},
	{"reason", 1, "voluntary|deceased|lapsed"},
	{NULL, 0, "huiji member leave --member qh-xn-cz:3:0 --reason voluntary --on 2026-12-01"},
};

static const char *const leave_reasons[] = {"voluntary", "deceased", "lapsed", NULL};

static const cli_opt update_opts[] = {
	{"member", 1, "membership id"},
	{"phone", 1, "new mobile number"},
	{"plate", 1, "new vehicle plate"},
	{"group", 1, "new worker group"},
	{"platform", 1, "new platform"},
	{"name", 1, "corrected name"},
	{NULL, 0, "huiji member update --member qh-xn-cz:3:0 --phone 13900000000 --plate 青A12345"},
};

/* approve, reject, leave, update: one op naming a membership. */
/* member update: the personal fields it changes travel sealed to the
 * nodes holding the record (person_seal.h). Nothing personal: no seal. */
static int seal_update(hj_json *op, const hj_node *n, const cli *c, const char *phone)
{
	char *unit = NULL;
	hj_json *f = hj_json_new(HJ_JOBJ);
	int rc = !f || hj_json_set_str(f, "phone", cli_get(c, "phone") ? phone : NULL) ||
			 hj_json_set_str(f, "plate", cli_get(c, "plate")) || hj_json_set_str(f, "name", cli_get(c, "name"))
		     ? HJ_ENOMEM
		     : 0;
	if (!rc && f->count) {
		rc = hj_db_get_text(&unit, n->db, "SELECT union_id FROM membership WHERE id = :id", ":id",
				    cli_get(c, "member"));
		rc = rc == HJ_ENOTFOUND ? 0 : rc; /* the fold says unknown_member */
		if (!rc)
			rc = hj_person_seal_set(op, n, f, unit ? unit : n->union_id);
	}
	free(unit);
	hj_json_free(f);
	return rc == HJ_ENOMEM ? hj_error_set(HJ_ENOMEM, "out of memory") : rc;
}

static int member_change(int argc, char **argv, const char *opname)
{
	cli c;
	hj_node *n = NULL;
	char today[11], phone[12];
	int given;
	int upd = strcmp(opname, "member.update") == 0;
	char cmdname[40];
	snprintf(cmdname, sizeof cmdname, "member %s", opname + strlen("member."));
	int leave = strcmp(opname, "member.leave") == 0;
	int rc = cli_parse(&c, cmdname,
			   upd ? update_opts : leave ? leave_opts : strcmp(opname, "member.reject") == 0 ? reject_opts
												: approve_opts,
			   argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (leave && (rc = cli_check_choice("leave reason", cli_get(&c, "reason"), leave_reasons)))
		return cli_fail(rc);
	if (!cli_need(&c, "member"))
		return cli_fail(HJ_EINVALID);
	if ((strcmp(opname, "member.reject") == 0 || strcmp(opname, "member.leave") == 0) && !cli_need(&c, "reason"))
		return cli_fail(HJ_EINVALID);
	if (upd && cli_get(&c, "phone") && (rc = hj_phone_normalise(phone, cli_get(&c, "phone"))))
		return cli_fail(rc);
	const char *on = cli_date(&c, today, &given);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if ((rc = cli_check_vocab(n, "worker group", "worker_group", cli_get(&c, "group"), 1)) ||
	    (rc = cli_check_vocab(n, "platform", "platform", cli_get(&c, "platform"), 1))) {
		hj_node_close(n);
		return cli_fail(rc);
	}
	hj_json *op = cli_op_new(opname);
	int bad = !op || hj_json_set_str(op, "member", cli_get(&c, "member"));
	char *pkey = NULL;
	/* The person's key only from a hub: a county's may be provisional,
	 * and the hub's entry names it (fold_key.c). Not found: the op goes
	 * ahead and the fold says unknown_member. */
	if (upd && n->person_secret && (rc = hj_db_get_text(&pkey, n->db, "SELECT person_key FROM membership WHERE id = :id", ":id",
					cli_get(&c, "member"))) &&
	    rc != HJ_ENOTFOUND) {
		hj_json_free(op);
		hj_node_close(n);
		return cli_fail(rc);
	}
	if (upd) {
		bad = bad || hj_json_set_str(op, "person", pkey) || hj_json_set_str(op, "group", cli_get(&c, "group")) ||
		      hj_json_set_str(op, "platform", cli_get(&c, "platform"));
		if (!bad && (rc = seal_update(op, n, &c, phone))) {
			hj_json_free(op);
			free(pkey);
			hj_node_close(n);
			return cli_fail(rc);
		}
	} else
		bad = bad || hj_json_set_str(op, "on", on) ||
		      hj_json_set_str(op, "reason", cli_get(&c, "reason"));
	free(pkey);
	if (bad) {
		hj_json_free(op);
		op = NULL;
	}
	if (!(rc = cli_run_op(n, op, NULL, 0)) && upd) /* an update records no date */
		printf("update %s\n", cli_get(&c, "member"));
	else if (!rc)
		printf("%s %s on %s%s\n", opname + strlen("member."), cli_get(&c, "member"), on,
		       given ? "" : CLI_TODAY_NOTE);
	hj_node_close(n);
	return cli_fail(rc);
}

static const cli_opt show_opts[] = {
	{"member", 1, "membership id"},
	{"reveal", 0, "show personal fields unmasked"},
	{"json", 0, "print one JSON object"},
	{NULL, 0, "huiji member show --member qh-xn-cz:3:0"},
};

static const cli_opt list_opts[] = {
	{"union", 1, "only this union (and its subtree)"},
	{"group", 1, "only this worker group"},
	{"status", 1, "applied|active|rejected|left|transferred"},
	{"platform", 1, "only this platform"},
	{"reveal", 0, "show personal fields unmasked"},
	{"json", 0, "print one JSON array, a membership an element"},
	{NULL, 0, "huiji member list --union qh-xn-cz --status active --group truck_driver"},
};

static const char *const statuses[] = {"applied", "active", "rejected", "left", "transferred", NULL};

static const char *member_sql =
	"WITH RECURSIVE sub(id) AS (SELECT :u UNION SELECT o.id FROM org o JOIN sub ON o.parent = sub.id) "
	"SELECT m.id, m.status, m.union_id, m.grp, m.channel, coalesce(m.platform, ''), m.applied_on, "
	"coalesce(m.decided_on, ''), coalesce(m.reason, ''), p.name, p.id_number, coalesce(p.phone, ''), "
	"coalesce(p.plate, ''), m.applied_by, coalesce(m.left_on, ''), coalesce(m.joined_on, '') "
	"FROM membership m JOIN person p ON p.person_key = m.person_key "
	"WHERE (:m IS NULL OR m.id = :m) AND (:u IS NULL OR m.union_id IN (SELECT id FROM sub)) "
	"AND (:g IS NULL OR m.grp = :g) AND (:s IS NULL OR m.status = :s) AND (:p IS NULL OR m.platform = :p) "
	"ORDER BY m.id";

/* One membership as JSON, its personal fields as shown (masked or not). */
static hj_json *member_json(sqlite3_stmt *st, const char *name, const char *idno, const char *phone, const char *plate)
{
	static const char *const cols[] = {"id", "status", "union", "group", "channel", "platform",
					   "applied_on", "decided_on", "reason"};
	hj_json *o = hj_json_new(HJ_JOBJ);
	for (int i = 0; o && i < 9; i++)
		if (hj_json_set_str(o, cols[i], hj_db_col_text(st, i)))
			o = (hj_json_free(o), NULL);
	if (o && (hj_json_set_str(o, "name", name) || hj_json_set_str(o, "id_number", idno) ||
		  hj_json_set_str(o, "phone", phone) || hj_json_set_str(o, "plate", plate) ||
		  hj_json_set_str(o, "applied_by", hj_db_col_text(st, 13)) ||
		  hj_json_set_str(o, "joined_on", hj_db_col_text(st, 15)) ||
		  hj_json_set_str(o, "left_on", hj_db_col_text(st, 14))))
		o = (hj_json_free(o), NULL);
	return o;
}

static void member_text(sqlite3_stmt *st, const char *name, const char *idno, const char *phone, const char *plate)
{
	printf("membership  %s\nstatus      %s\nunion       %s\ngroup       %s\nchannel     %s\n"
	       "platform    %s\napplied on  %s (by %s)\ndecided on  %s\njoined on   %s\nreason      %s\n"
	       "left on     %s\nname        %s\nID number   %s\nphone       %s\nplate       %s\n",
	       hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2), hj_db_col_text(st, 3),
	       hj_db_col_text(st, 4), hj_db_col_text(st, 5), hj_db_col_text(st, 6), hj_db_col_text(st, 13),
	       hj_db_col_text(st, 7), hj_db_col_text(st, 15), hj_db_col_text(st, 8), hj_db_col_text(st, 14), name, idno,
	       phone, plate);
}

/* The row's personal fields as shown: masked unless --reveal. */
static void personal(sqlite3_stmt *st, int reveal, char name[200], char idno[40], char phone[40], char plate[80])
{
	const char *f_name = hj_db_col_text(st, 9), *f_id = hj_db_col_text(st, 10);
	const char *f_phone = hj_db_col_text(st, 11), *f_plate = hj_db_col_text(st, 12);
	if (reveal) {
		snprintf(name, 200, "%s", f_name);
		snprintf(idno, 40, "%s", f_id);
		snprintf(phone, 40, "%s", f_phone);
		snprintf(plate, 80, "%s", f_plate);
	} else {
		hj_mask_name(name, 200, f_name);
		hj_mask_idnum(idno, f_id);
		hj_mask_phone(phone, f_phone);
		hj_mask_plate(plate, 80, f_plate);
	}
}

static int member_query(int argc, char **argv, int show)
{
	cli c;
	hj_node *n = NULL;
	cli_table *t = NULL;
	cli_jlist l;
	static const char *const heads[] = {"membership", "status", "union", "group", "platform", "name", "ID number",
					    "phone", NULL};
	int rc = cli_parse(&c, show ? "member show" : "member list", show ? show_opts : list_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (show && !cli_need(&c, "member"))
		return cli_fail(HJ_EINVALID);
	if ((rc = cli_check_choice("status", cli_get(&c, "status"), statuses)))
		return cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	int reveal = cli_flag(&c, "reveal"), json = cli_flag(&c, "json"), rows = 0;
	sqlite3_stmt *st = NULL;
	if ((rc = cli_check_vocab(n, "worker group", "worker_group", cli_get(&c, "group"), 1)) ||
	    (rc = cli_check_vocab(n, "platform", "platform", cli_get(&c, "platform"), 1)))
		goto done;
	st = hj_db_stmt(n->db, member_sql);
	if (!st || hj_db_bind_text(st, ":m", cli_get(&c, "member")) || hj_db_bind_text(st, ":u", cli_get(&c, "union")) ||
	    hj_db_bind_text(st, ":g", cli_get(&c, "group")) || hj_db_bind_text(st, ":s", cli_get(&c, "status")) ||
	    hj_db_bind_text(st, ":p", cli_get(&c, "platform"))) {
		rc = HJ_ERROR;
		goto done;
	}
	if (!show && !json) {
		if (!(t = cli_table_new(heads))) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			goto done;
		}
		cli_table_max_width(t, 5, 12);
	} else if (!show)
		cli_jlist_begin(&l);
	while ((rc = hj_db_step(n->db, st)) == 1) {
		char name[200], idno[40], phone[40], plate[80];
		personal(st, reveal, name, idno, phone, plate);
		rows++;
		if (json && show) {
			hj_json *o = member_json(st, name, idno, phone, plate);
			rc = o ? cli_member_history(n, hj_db_col_text(st, 0), o) : hj_error_set(HJ_ENOMEM, "out of memory");
			if (rc) {
				hj_json_free(o);
				goto done;
			}
			if ((rc = cli_json_line(o))) /* frees o */
				goto done;
		} else if (json) {
			if ((rc = cli_jlist_add(&l, member_json(st, name, idno, phone, plate))))
				goto done;
		} else if (show) {
			member_text(st, name, idno, phone, plate);
			if ((rc = cli_member_history(n, hj_db_col_text(st, 0), NULL)))
				goto done;
		} else {
			const char *plat = hj_db_col_text(st, 5);
			const char *cells[] = {hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2),
					       hj_db_col_text(st, 3), plat[0] ? plat : NULL, name, idno, phone};
			if ((rc = cli_table_add(t, cells)))
				goto done;
		}
	}
	if (rc == 0 && show && rows == 0 && (rc = cli_print_rejection_of(n, stderr, cli_get(&c, "member"))) >= 0)
		rc = hj_error_set(HJ_ENOTFOUND, "no membership %s%s", cli_get(&c, "member"), rc ? " (rejected)" : "");
	if (rc == 0 && !show && json)
		cli_jlist_end(&l);
	else if (rc == 0 && t) {
		cli_table_sort(t, 0);
		rc = cli_table_print(t, stdout);
	}
done:
	cli_table_free(t);
	hj_db_release(n->db, st);
	hj_node_close(n);
	return cli_fail(rc < 0 ? rc : 0);
}

static int member_approve(int argc, char **argv)
{
	return member_change(argc, argv, "member.approve");
}

static int member_reject(int argc, char **argv)
{
	return member_change(argc, argv, "member.reject");
}

static int member_update(int argc, char **argv)
{
	return member_change(argc, argv, "member.update");
}

static int member_leave(int argc, char **argv)
{
	return member_change(argc, argv, "member.leave");
}

static int member_show(int argc, char **argv)
{
	return member_query(argc, argv, 1);
}

static int member_list(int argc, char **argv)
{
	return member_query(argc, argv, 0);
}

static int member_accept(int argc, char **argv)
{
	return cmd_member_decide_transfer(argc, argv, 1);
}

static int member_decline(int argc, char **argv)
{
	return cmd_member_decide_transfer(argc, argv, 0);
}

int cmd_member(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"apply", member_apply, "record an application (--approve: join at once)"},
		{"approve", member_approve, "approve an application"},
		{"reject", member_reject, "reject an application, with the reason"},
		{"update", member_update, "change a member's phone, plate, group, platform or name"},
		{"leave", member_leave, "end a membership: voluntary, deceased or lapsed"},
		{"hand-down", cmd_member_hand_down, "hand a record to a union below (the turnover pool)"},
		{"transfer", cmd_member_transfer, "offer a record to another union, request one, or withdraw"},
		{"accept", member_accept, "accept a transfer"},
		{"decline", member_decline, "decline a transfer"},
		{"transfers", cmd_member_transfers, "the transfers awaiting an answer here (--all: every one)"},
		{"show", member_show, "one membership, with its history"},
		{"list", member_list, "memberships, filtered"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("member", subs, argc, argv);
}
