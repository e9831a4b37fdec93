/*
 * cmd_compare.c — `huiji compare roster FILE.csv`: a platform's or the
 * transport department's driver list against the roll (node/roster.h
 * matches and counts; this file prints). A summary table per union and
 * worker group, where the members elsewhere and the open applications are
 * (a hub only: a county says member here or not), the bad rows by line on
 * stderr (never a field's value), and with --out the rows not yet reached
 * as an outreach CSV, masked unless --reveal.
 */
#include "cli.h"
#include "csv.h"
#include "csv_header.h"
#include "error.h"
#include "mask.h"
#include "roster.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const cli_opt opts[] = {
	{"union", 1, "the union the list is compared for (default this node's); every row is its"},
	{"group", 1, "worker group of rows when the list has no group column (default truck_driver)"},
	{"out", 1, "write the rows not yet reached here (UTF-8 CSV), masked unless --reveal"},
	{"reveal", 0, "the outreach CSV with names, ID numbers, phones, plates unmasked, and person keys"},
	{"json", 0, "print the summary as one JSON line"},
	{"encoding", 1, "utf-8 or gb18030 (GBK); default: decided from the whole file"},
	{NULL, 0, "huiji compare roster drivers.csv --out outreach.csv"},
};

/* Where the members elsewhere and the open applications are: one entry
 * per (state, province, union). */
typedef struct place {
	hj_roster_state state;
	char province[65], union_id[128], union_name[512];
	long rows;
} place;

typedef struct compare {
	int reveal;
	int gb18030;    /* the list was read as GB18030: said in the output */
	FILE *out;      /* --out, or NULL */
	int out_failed; /* a write to it failed */
	long outreach;  /* rows written there */
	hj_json *bad;   /* [{line, reason}] for --json */
	place *places;
	size_t nplaces, cap;
} compare;

static const char *const out_header[] = {"line", "name", "id_number", "phone", "plate", "group", "region",
					 "region_name", "former_status", "former_union", "former_union_name",
					 "person_key"};
#define OUT_COLS (sizeof out_header / sizeof out_header[0])

static int note_place(compare *c, const hj_roster_row *row)
{
	for (size_t i = 0; i < c->nplaces; i++) {
		place *p = &c->places[i];
		if (p->state == row->state && strcmp(p->province, row->province) == 0 &&
		    strcmp(p->union_id, row->union_id) == 0) {
			p->rows++;
			return 0;
		}
	}
	if (c->nplaces == c->cap) {
		place *g = realloc(c->places, (c->cap = c->cap ? c->cap * 2 : 16) * sizeof *g);
		if (!g)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		c->places = g;
	}
	place *p = &c->places[c->nplaces++];
	p->state = row->state;
	p->rows = 1;
	snprintf(p->province, sizeof p->province, "%s", row->province);
	snprintf(p->union_id, sizeof p->union_id, "%s", row->union_id);
	snprintf(p->union_name, sizeof p->union_name, "%s", row->union_name);
	return 0;
}

static int put_row(compare *c, const char *const *cells, size_t n)
{
	hj_buf b = HJ_BUF_INIT;
	int rc = hj_csv_put_row(&b, cells, n);
	if (!rc && fwrite(b.data, 1, b.len, c->out) != b.len)
		c->out_failed = 1;
	hj_buf_free(&b);
	return rc;
}

/* One row of the outreach CSV: the list's fields masked unless --reveal;
 * the person key only revealed (with the secret it names the number). */
static int outreach_row(compare *c, const hj_roster_row *r)
{
	char line[24], name[256], idno[19], phone[12], plate[64];
	const char *f_name = r->name ? r->name : "", *f_id = r->id_number ? r->id_number : "";
	const char *f_phone = r->phone ? r->phone : "", *f_plate = r->plate ? r->plate : "";
	snprintf(line, sizeof line, "%ld", r->line);
	if (!c->reveal) {
		hj_mask_name(name, sizeof name, f_name);
		hj_mask_idnum(idno, f_id);
		hj_mask_phone(phone, f_phone);
		hj_mask_plate(plate, sizeof plate, f_plate);
		f_name = f_name[0] ? name : "", f_id = f_id[0] ? idno : "";
		f_phone = f_phone[0] ? phone : "", f_plate = f_plate[0] ? plate : "";
	}
	const char *cells[OUT_COLS] = {line, f_name, f_id, f_phone, f_plate, r->group, r->region, r->region_name,
				       r->status, r->union_id, r->union_name,
				       c->reveal && r->person_key ? r->person_key : ""};
	c->outreach++;
	return put_row(c, cells, c->reveal ? OUT_COLS : OUT_COLS - 1);
}

static int on_row(void *arg, const hj_roster_row *r)
{
	compare *c = arg;
	if (r->state == HJ_ROSTER_BAD) {
		fprintf(stderr, "huiji: line %ld: %s\n", r->line, r->why);
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (!o || hj_json_set_int(o, "line", r->line) || hj_json_set_str(o, "reason", r->why)) {
			hj_json_free(o);
			return hj_error_set(HJ_ENOMEM, "out of memory");
		}
		return hj_json_append(c->bad, o) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0; /* o taken */
	}
	if (r->state == HJ_ROSTER_ELSEWHERE || r->state == HJ_ROSTER_APPLIED)
		return note_place(c, r);
	if (r->state == HJ_ROSTER_NOT_REACHED && c->out)
		return outreach_row(c, r);
	return 0;
}

static void count_cell(char *buf, size_t sz, long v)
{
	snprintf(buf, sz, "%ld", v);
}

static int print_text(const hj_roster *r, const compare *c, const char *path, const char *out)
{
	static const char *const h1[] = {"union", "name", "group", "rows", "members here", "members elsewhere",
					 "open applications", "not reached", NULL};
	static const char *const h2[] = {"where", "province", "union", "name", "rows", NULL};
	cli_table *t = cli_table_new(h1), *w = cli_table_new(h2);
	int rc = t && w ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	printf("%s%s compared for %s (%s) %s\n", path, c->gb18030 ? " (read as GB18030: the file is not UTF-8)" : "",
	       r->union_id, r->union_name,
	       r->where_else ? "by person key, across the province and its peers"
			     : "by the ID numbers held here: member here or not (only the hub says where else)");
	for (size_t i = 0; !rc && i < r->ncounts; i++) {
		const hj_roster_count *k = &r->counts[i];
		char n[5][24];
		if (!k->rows)
			continue;
		count_cell(n[0], 24, k->rows), count_cell(n[1], 24, k->here), count_cell(n[2], 24, k->elsewhere);
		count_cell(n[3], 24, k->applied), count_cell(n[4], 24, k->not_reached);
		const char *cells[] = {r->union_id, r->union_name, k->group, n[0], n[1], r->where_else ? n[2] : NULL,
				       n[3], n[4]};
		rc = cli_table_add(t, cells);
	}
	for (size_t i = 0; !rc && i < c->nplaces; i++) {
		const place *p = &c->places[i];
		char n[24];
		count_cell(n, sizeof n, p->rows);
		const char *cells[] = {p->state == HJ_ROSTER_APPLIED ? "open application" : "member elsewhere",
				       p->province[0] ? p->province : NULL, p->union_id, p->union_name, n};
		rc = cli_table_add(w, cells);
	}
	if (!rc) {
		for (size_t k = 3; k < 8; k++)
			cli_table_right(t, k);
		cli_table_right(w, 4);
		cli_table_max_width(t, 1, 24);
		cli_table_max_width(w, 3, 24);
		cli_table_sort(w, 2);
		rc = cli_table_print(t, stdout);
		if (!rc && cli_table_rows(w)) {
			printf("\n");
			rc = cli_table_print(w, stdout);
		}
	}
	cli_table_free(t);
	cli_table_free(w);
	if (rc)
		return rc;
	printf("%ld rows: %ld compared, %ld bad%s", r->records, r->records - r->bad, r->bad,
	       r->bad ? " (listed above by line)" : "");
	if (r->upgraded)
		printf("; %ld 15-digit ID number%s compared in the 18-digit form", r->upgraded, r->upgraded == 1 ? "" : "s");
	if (r->by_key)
		printf("; %ld row%s given as person keys", r->by_key, r->by_key == 1 ? "" : "s");
	if (out)
		printf("; %ld not reached written to %s (%s)\n", c->outreach, out,
		       c->reveal ? "unmasked: --reveal" : "masked; --reveal to show");
	else
		printf("; --out FILE writes the rows not reached\n");
	return 0;
}

static hj_json *group_json(const hj_roster *r, const hj_roster_count *k)
{
	hj_json *o = hj_json_new(HJ_JOBJ);
	if (!o || hj_json_set_str(o, "union", r->union_id) || hj_json_set_str(o, "group", k->group) ||
	    hj_json_set_int(o, "rows", k->rows) || hj_json_set_int(o, "members_here", k->here) ||
	    hj_json_set(o, "members_elsewhere", r->where_else ? hj_json_int(k->elsewhere) : hj_json_null()) ||
	    hj_json_set_int(o, "open_applications", k->applied) || hj_json_set_int(o, "not_reached", k->not_reached)) {
		hj_json_free(o);
		return NULL;
	}
	return o;
}

static hj_json *place_json(const place *p)
{
	hj_json *o = hj_json_new(HJ_JOBJ);
	if (!o || hj_json_set_str(o, "state", hj_roster_state_name(p->state)) ||
	    hj_json_set(o, "province", p->province[0] ? hj_json_str(p->province) : hj_json_null()) ||
	    hj_json_set_str(o, "union", p->union_id) || hj_json_set_str(o, "union_name", p->union_name) ||
	    hj_json_set_int(o, "rows", p->rows)) {
		hj_json_free(o);
		return NULL;
	}
	return o;
}

static int print_json(const hj_roster *r, compare *c, const char *path, const char *out)
{
	hj_json *o = hj_json_new(HJ_JOBJ), *groups = hj_json_new(HJ_JARR), *where = hj_json_new(HJ_JARR);
	hj_json *oj = out ? hj_json_new(HJ_JOBJ) : hj_json_null();
	int bad = !o || !groups || !where || !oj;
	for (size_t i = 0; !bad && i < r->ncounts; i++) {
		hj_json *g = r->counts[i].rows ? group_json(r, &r->counts[i]) : NULL;
		bad = r->counts[i].rows && (!g || hj_json_append(groups, g));
	}
	for (size_t i = 0; !bad && i < c->nplaces; i++) {
		hj_json *p = place_json(&c->places[i]);
		bad = !p || hj_json_append(where, p);
	}
	bad = bad || (out && (hj_json_set_str(oj, "path", out) || hj_json_set_int(oj, "rows", c->outreach) ||
			      hj_json_set_bool(oj, "masked", !c->reveal)));
	bad = bad || hj_json_set_str(o, "file", path) ||
	      hj_json_set_str(o, "encoding", c->gb18030 ? "gb18030" : "utf-8") || hj_json_set_str(o, "union", r->union_id) ||
	      hj_json_set_str(o, "union_name", r->union_name) ||
	      hj_json_set_str(o, "compared_by", r->where_else ? "person_key" : "id_number") ||
	      hj_json_set_bool(o, "where_else", r->where_else) || hj_json_set_int(o, "rows", r->records) ||
	      hj_json_set_int(o, "compared", r->records - r->bad) || hj_json_set_int(o, "bad_rows", r->bad) || hj_json_set_int(o, "by_key", r->by_key) ||
	      hj_json_set_int(o, "upgraded", r->upgraded);
	if (!bad) { /* each set takes its child, set or not */
		bad |= hj_json_set(o, "groups", groups) != 0;
		bad |= hj_json_set(o, "where", where) != 0;
		bad |= hj_json_set(o, "bad", c->bad) != 0;
		bad |= hj_json_set(o, "outreach", oj) != 0;
		groups = where = oj = c->bad = NULL;
	}
	hj_json_free(groups), hj_json_free(where), hj_json_free(oj);
	if (bad) {
		hj_json_free(o);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	return cli_json_line(o);
}

/* The list decoded and the outreach file started (UTF-8 with a
 * byte-order mark, which Excel on Chinese Windows needs). */
static int compare_open(hj_csv **csv, compare *c, const cli *cl, const char *path)
{
	hj_csv_encoding enc;
	const char *out = cli_get(cl, "out");
	int rc;
	FILE *f;
	if ((rc = hj_csv_encoding_parse(&enc, cli_get(cl, "encoding"))))
		return rc;
	if (!(f = fopen(path, "rb")))
		return hj_error_set(HJ_ENOTFOUND, "%s: cannot open", path);
	rc = hj_csv_open_enc(csv, f, enc);
	fclose(f);
	if (rc)
		return hj_error_wrap(rc, "%s: ", path);
	c->gb18030 = hj_csv_encoding_of(*csv) == HJ_CSV_GB18030;
	if (!out)
		return 0;
	struct stat a, b;
	if (stat(path, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return hj_error_set(HJ_EINVALID, "--out %s is the list itself: name another file", out);
	if (!(c->out = fopen(out, "wb")))
		return hj_error_set(HJ_ERROR, "%s: cannot write the outreach file", out);
	fputs("\xEF\xBB\xBF", c->out);
	return put_row(c, out_header, c->reveal ? OUT_COLS : OUT_COLS - 1);
}

static int outreach_close(compare *c, const char *path, int failed)
{
	if (!c->out)
		return 0;
	int bad = c->out_failed | (fflush(c->out) != 0) | (ferror(c->out) != 0);
	bad |= fclose(c->out) != 0;
	c->out = NULL;
	if (failed || bad)
		remove(path); /* half a list would read as the whole one */
	return bad && !failed ? hj_error_set(HJ_ERROR, "%s: the outreach file could not be written whole", path) : 0;
}

static int compare_roster(int argc, char **argv)
{
	cli cl;
	compare c = {0};
	hj_node *n = NULL;
	hj_csv *csv = NULL;
	hj_roster *r = NULL;
	int rc;
	const char *path;
	if ((rc = cli_parse_file(&cl, &path, "compare roster FILE.csv", opts, argc, argv)))
		return rc > 0 ? 0 : cli_fail(rc);
	c.reveal = cli_flag(&cl, "reveal");
	if (!(c.bad = hj_json_new(HJ_JARR)))
		return cli_fail(hj_error_set(HJ_ENOMEM, "out of memory"));
	if ((rc = cli_open_node(&cl, &n)) || (rc = compare_open(&csv, &c, &cl, path)))
		goto done;
	if ((rc = hj_roster_compare(&r, n, csv, path, cli_get(&cl, "union"), cli_get(&cl, "group"), on_row, &c)))
		goto done;
	if ((rc = outreach_close(&c, cli_get(&cl, "out"), 0)))
		goto done;
	rc = cli_flag(&cl, "json") ? print_json(r, &c, path, cli_get(&cl, "out"))
				   : print_text(r, &c, path, cli_get(&cl, "out"));
done:
	outreach_close(&c, cli_get(&cl, "out"), rc != 0);
	int status = cli_fail(rc);
	if (!status && r && r->bad)
		status = 1; /* like import: the rest compared all the same, see the summary */
	hj_roster_free(r);
	hj_csv_close(csv);
	hj_node_close(n);
	hj_json_free(c.bad);
	free(c.places);
	return status;
}

int cmd_compare(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"roster", compare_roster, "FILE.csv: a driver list against the roll: members here, elsewhere (hub), applied, "
					   "not reached"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("compare", subs, argc, argv);
}
