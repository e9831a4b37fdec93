/*
 * cmd_import.c — `huiji import platform FILE.csv`: a platform union's list
 * of drivers, applied in bulk.
 *
 * Every row is checked like `member apply` (the same ID-number
 * normalisation: full-width digits, spaces, 15 digits upgraded); a bad row
 * is reported with its line and reason — never a field's value — and the
 * rest go on. The file's encoding is decided from the whole file (csv.h:
 * UTF-8, or GB18030 as Excel saves it on Chinese Windows, said in the
 * output); a stray quote costs its own line (csv.h), and a quoted field
 * holding a line break is refused (every column is a one-line value) with
 * the lines it holds, which are its record's. Refused rows can be written
 * to a reject file (--rejects; UTF-8 with a BOM, which Excel needs): a
 * `reason` column, then each row's bytes as read (UTF-8 after decoding),
 * under the original header, so a clerk fixes them and imports that
 * file again (the importer ignores a `reason` column). Good rows are
 * recorded in change sets of at most 1000 applications (the payload stays
 * far below the 8 MiB cap), each its own transaction. Rows without a date
 * take --on, else today by this computer's clock; the summary says which
 * date and how many took it. Exit 0 when every row was recorded, 1 when
 * some were refused (the others are recorded all the same: see the
 * summary).
 */
#include "application.h"
#include "cli.h"
#include "csv.h"
#include "csv_header.h"
#include "error.h"
#include "idnum.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_BATCH 1000

static const cli_opt opts[] = {
	{"platform", 1, "platform for rows without a platform column, e.g. yunmanman"},
	{"channel", 1, "entrance for rows without a channel column (default platform_app)"},
	{"group", 1, "worker group for rows without a group column (default truck_driver)"},
	{"union", 1, "receiving union for rows without a union column (default this node's)"},
	{"on", 1, "application date for rows without one (default: today by this computer's clock)"},
	{"approve", 0, "approve each application at once (join at once)"},
	{"encoding", 1, "utf-8 or gb18030 (GBK); default: decided from the whole file"},
	{"rejects", 1, "write the refused rows here, with a reason column, to fix and import again"},
	{"json", 0, "print the summary as one JSON object (refused rows stay on stderr)"},
	{NULL, 0, "huiji import platform drivers.csv --platform yunmanman --on 2026-11-02 --rejects fix.csv"},
};

enum { C_NAME, C_ID, C_PHONE, C_PLATE, C_GROUP, C_CHANNEL, C_PLATFORM, C_UNION, C_ON, C_REASON, C_COUNT };
static const char *const columns[C_COUNT] = {"name", "id_number", "phone", "plate", "group",
					       "channel", "platform", "union", "on", "reason"};

typedef struct importer {
	hj_node *n;
	hj_csv *csv;
	hj_batch b;
	int open, approve;
	long rows, done, refused, upgraded;
	const char *on;  /* the date of rows without one: --on, or today */
	int on_given;    /* --on was given */
	long dated;      /* applications recorded with that date: said at the end */
	uint64_t first_seq, last_seq;
	FILE *rej;       /* --rejects, or NULL */
	int rej_failed;  /* a write to it failed: said at the end */
	int json;        /* --json: the summary is the one thing on stdout */
	hj_progress progress; /* rows read of about `lines` */
	cli_progress *printer; /* its printer: wiped before a refusal is said */
	uint64_t lines;
} importer;

static int flush(importer *im)
{
	uint64_t seq = 0;
	if (!im->open)
		return 0;
	im->open = 0;
	int rc = hj_batch_commit(&im->b, &seq);
	if (!rc && seq) {
		if (!im->first_seq)
			im->first_seq = seq;
		im->last_seq = seq;
	}
	return rc;
}

/* One line of the reject file: the reason (quoted, RFC 4180), then the
 * record's bytes as read. The reason comes first so it never depends on
 * how many fields the (maybe malformed) record has. */
static void reject_line(importer *im, const char *why, const char *raw, size_t rawlen)
{
	if (!im->rej)
		return;
	fputc('"', im->rej);
	for (const char *s = why; *s; s++) {
		if (*s == '"')
			fputc('"', im->rej);
		fputc(*s, im->rej);
	}
	fputs("\",", im->rej);
	if (fwrite(raw, 1, rawlen, im->rej) != rawlen || fputc('\n', im->rej) == EOF)
		im->rej_failed = 1;
}

/* A row that was not recorded: said on stderr by its line, and kept in the
 * reject file when there is one. */
static void refuse(importer *im, long line, const char *why)
{
	const char *raw;
	size_t rawlen;
	im->refused++;
	if (im->printer)
		cli_progress_clear(im->printer);
	fprintf(stderr, "huiji: line %ld: %s\n", line, why);
	hj_csv_raw(im->csv, &raw, &rawlen);
	reject_line(im, why, raw, rawlen);
}

static int approve_row(importer *im, const hj_application *a, const char *mid, long line)
{
	hj_verdict v;
	int rc;
	hj_json *ap = cli_op_new("member.approve");
	if (!ap || hj_json_set_str(ap, "member", mid) || hj_json_set_str(ap, "on", a->on)) {
		hj_json_free(ap);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	if ((rc = hj_batch_apply(&im->b, ap, &v, NULL, 0)))
		return rc;
	if (!v.applied) {
		/* The application stands (it is in the batch), so the row is
		 * not a reject to import again: the clerk decides it by hand. */
		im->refused++;
		if (im->printer)
			cli_progress_clear(im->printer);
		fprintf(stderr, "huiji: line %ld: application %s recorded, but its approval was refused: %s: %s\n", line,
			mid, v.reason, v.detail);
	}
	return 0;
}

/* One row: check, fold; returns < 0 only for failures that stop the import. */
static int import_row(importer *im, const hj_application *a, long line)
{
	hj_json *op = NULL;
	hj_verdict v;
	char mid[160], idno[19];
	unsigned how = 0;
	int rc = hj_application_op(&op, im->n, a);
	if (rc == HJ_EINVALID) {
		refuse(im, line, hj_error_last());
		return 0;
	}
	if (rc)
		return rc;
	if (!im->open) {
		if ((rc = hj_batch_begin(&im->b, im->n))) {
			hj_json_free(op);
			return rc;
		}
		im->open = 1;
	}
	if ((rc = hj_batch_apply(&im->b, op, &v, mid, sizeof mid)))
		return rc;
	if (!v.applied) {
		char why[320];
		snprintf(why, sizeof why, "%s: %s", v.reason, v.detail);
		refuse(im, line, why);
		return 0;
	}
	im->dated += a->on == im->on;
	if (hj_idnum_normalise(idno, a->id_number, &how) == 0 && (how & HJ_IDNUM_UPGRADED)) {
		im->upgraded++;
		if (!im->json)
			printf("line %ld: note: a 15-digit ID number from before 1999, recorded in its 18-digit form\n",
			       line);
	}
	long before = im->refused;
	if (im->approve && (rc = approve_row(im, a, mid, line)))
		return rc;
	im->done += im->refused == before;
	if (im->b.applied >= IMPORT_BATCH)
		return flush(im);
	return 0;
}

/* The header names the columns; their order is free (csv_header.h: an
 * unknown column is refused, so a misspelt one never drops its data). */
static int read_header(int col[C_COUNT], hj_csv *csv, const char *path)
{
	long line;
	int rc = hj_csv_header(col, csv, path, columns, C_COUNT, 0, NULL, &line);
	if (rc)
		return rc;
	if (col[C_NAME] < 0 || col[C_ID] < 0 || col[C_PHONE] < 0)
		return hj_error_set(HJ_EINVALID, "%s line %ld: columns name, id_number and phone are required", path,
				    line);
	return 0;
}

/* Every record after the header: a malformed one is refused by its line,
 * a good one becomes an application (defaults from the options). */
static int import_rows(importer *im, const cli *c, const int col[C_COUNT])
{
	char **fields;
	size_t nf;
	long line;
	int rc;
	while ((rc = hj_csv_next(im->csv, &fields, &nf, &line)) != 0) {
		im->rows++;
		if (rc == HJ_EINVALID) {
			refuse(im, line, hj_error_last());
			continue;
		}
		if (rc < 0)
			return rc;
		size_t brk = 0;
		while (brk < nf && !strpbrk(fields[brk], "\r\n"))
			brk++;
		if (brk < nf) {
			/* Quoted, so the reader took it (csv.h bounds it); no column
			 * holds two lines, and the row's bytes go to the rejects. */
			char why[120];
			snprintf(why, sizeof why, "column %zu holds a line break (a stray quote?); every column is one line",
				 brk + 1);
			refuse(im, line, why);
			continue;
		}
#define FIELD(k, dflt) (col[k] >= 0 && (size_t)col[k] < nf && fields[col[k]][0] ? fields[col[k]] : (dflt))
		hj_application a = {
			.name = FIELD(C_NAME, NULL),
			.id_number = FIELD(C_ID, NULL),
			.phone = FIELD(C_PHONE, NULL),
			.plate = FIELD(C_PLATE, NULL),
			.group = FIELD(C_GROUP, cli_get(c, "group") ? cli_get(c, "group") : "truck_driver"),
			.channel = FIELD(C_CHANNEL, cli_get(c, "channel") ? cli_get(c, "channel") : "platform_app"),
			.platform = FIELD(C_PLATFORM, cli_get(c, "platform")),
			.union_id = FIELD(C_UNION, cli_get(c, "union")),
			.on = FIELD(C_ON, im->on),
		};
#undef FIELD
		hj_progress_report(&im->progress, "rows", (uint64_t)im->rows, im->lines);
		/* A value outside a vocabulary is answered with the valid ones,
		 * never with the cell (a column out of place may hold a name). */
		if ((rc = cli_check_vocab(im->n, "worker group", "worker_group", a.group, 0)) ||
		    (rc = cli_check_vocab(im->n, "channel", "channel", a.channel, 0)) ||
		    (rc = cli_check_vocab(im->n, "platform", "platform", a.platform, 0))) {
			if (rc != HJ_EINVALID)
				return rc;
			refuse(im, line, hj_error_last());
			continue;
		}
		if ((rc = import_row(im, &a, line)))
			return rc;
	}
	return 0;
}

/* Open the list (decoding it) and the reject file, read the header; the
 * reject file starts with "reason," and the header as read. */
static int import_open(importer *im, const cli *c, const char *path, int col[C_COUNT])
{
	hj_csv_encoding enc;
	const char *raw, *rej = cli_get(c, "rejects");
	size_t rawlen;
	int rc;
	FILE *f;
	if ((rc = hj_csv_encoding_parse(&enc, cli_get(c, "encoding"))))
		return rc;
	if (!(f = fopen(path, "rb")))
		return hj_error_set(HJ_ENOTFOUND, "%s: cannot open", path);
	/* About how many rows, for the progress line: the file's lines less
	 * the header (a quoted line break counts twice; only an estimate). */
	for (int ch; (ch = getc(f)) != EOF;)
		im->lines += ch == '\n';
	im->lines = im->lines ? im->lines - 1 : 0;
	rewind(f);
	rc = hj_csv_open_enc(&im->csv, f, enc);
	fclose(f);
	if (rc)
		return hj_error_wrap(rc, "%s: ", path);
	if ((rc = read_header(col, im->csv, path)))
		return rc;
	if (hj_csv_encoding_of(im->csv) == HJ_CSV_GB18030 && !im->json)
		printf("%s: read as GB18030 (the file is not UTF-8)\n", path);
	if (rej) {
		if (!(im->rej = fopen(rej, "wb")))
			return hj_error_set(HJ_ERROR, "%s: cannot write the rejects file", rej);
		hj_csv_raw(im->csv, &raw, &rawlen);
		/* UTF-8 with a byte-order mark: Excel on Chinese Windows opens a
		 * CSV without one as GBK, and the clerk would fix mojibake. */
		fputs("\xEF\xBB\xBFreason,", im->rej);
		if (fwrite(raw, 1, rawlen, im->rej) != rawlen || fputc('\n', im->rej) == EOF)
			im->rej_failed = 1;
	}
	return 0;
}

/* Close the reject file: kept when it holds rows, removed when it would
 * hold only the header. 0, or HJ_ERROR when it could not be written. */
static int rejects_close(importer *im, const char *path)
{
	if (!im->rej)
		return 0;
	int bad = im->rej_failed | (fflush(im->rej) != 0) | (ferror(im->rej) != 0);
	bad |= fclose(im->rej) != 0;
	im->rej = NULL;
	if (!im->refused && !bad)
		remove(path);
	return bad ? hj_error_set(HJ_ERROR, "%s: the rejects file could not be written whole (the refused lines are "
				  "listed above)", path) : 0;
}

static int import_platform(int argc, char **argv)
{
	cli c;
	importer im = {0};
	char today[11];
	int col[C_COUNT], rc;

	const char *path;
	if ((rc = cli_parse_file(&c, &path, "import platform FILE.csv", opts, argc, argv)))
		return rc > 0 ? 0 : cli_fail(rc);
	im.on = cli_date(&c, today, &im.on_given);
	im.approve = cli_flag(&c, "approve");
	im.json = cli_flag(&c, "json");
	cli_progress prog;
	im.progress = cli_progress_start(&prog, "import");
	im.printer = &prog;
	if ((rc = import_open(&im, &c, path, col)))
		goto done;
	if ((rc = cli_open_node(&c, &im.n)))
		goto done;
	if ((rc = cli_check_vocab(im.n, "worker group", "worker_group", cli_get(&c, "group"), 1)) ||
	    (rc = cli_check_vocab(im.n, "channel", "channel", cli_get(&c, "channel"), 1)) ||
	    (rc = cli_check_vocab(im.n, "platform", "platform", cli_get(&c, "platform"), 1)))
		goto done;
	if ((rc = import_rows(&im, &c, col)))
		goto done;
	rc = flush(&im);
	if (!rc)
		rc = cli_flush_outbox(im.n);
done:
	cli_progress_end(&prog);
	if (im.open)
		hj_batch_abort(&im.b);
	if (im.n && !rc && im.json) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (o && (hj_json_set_str(o, "file", path) || hj_json_set_int(o, "rows", im.rows) ||
			  hj_json_set_int(o, "imported", im.done) || hj_json_set_int(o, "refused", im.refused) ||
			  hj_json_set_int(o, "upgraded_id_numbers", im.upgraded) ||
			  hj_json_set_str(o, "encoding", hj_csv_encoding_name(hj_csv_encoding_of(im.csv))) ||
			  hj_json_set_int(o, "first_seq", (int64_t)im.first_seq) ||
			  hj_json_set_int(o, "last_seq", (int64_t)im.last_seq) ||
			  hj_json_set_str(o, "rejects", im.refused ? cli_get(&c, "rejects") : NULL) ||
			  hj_json_set_int(o, "dated", im.dated) || hj_json_set_str(o, "on", im.on) ||
			  hj_json_set_bool(o, "on_given", im.on_given)))
			o = (hj_json_free(o), NULL);
		rc = cli_json_line(o);
	} else if (im.n && !rc) {
		printf("imported %ld of %ld rows", im.done, im.rows);
		if (im.first_seq)
			printf(" (change sets %" PRIu64 "-%" PRIu64 ")", im.first_seq, im.last_seq);
		printf("; %ld refused%s", im.refused, im.refused ? " (listed above, with their lines)" : "");
		if (im.refused && cli_get(&c, "rejects"))
			printf("; refused rows written to %s", cli_get(&c, "rejects"));
		/* Rows without a date took this one: say which, and whose clock. */
		if (im.dated)
			printf("; %ld application%s dated %s%s", im.dated, im.dated == 1 ? "" : "s", im.on,
			       im.on_given ? " (--on)" : CLI_TODAY_NOTE);
		printf("\n");
	}
	int status = cli_fail(rc); /* before rejects_close can set a message */
	int rrc = rejects_close(&im, cli_get(&c, "rejects"));
	hj_node_close(im.n);
	hj_csv_close(im.csv);
	if (!rc && rrc)
		status = cli_fail(rrc);
	return status ? status : im.refused ? 1 : 0;
}

int cmd_import(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"platform", import_platform, "FILE.csv: a platform's list of applicants, bad rows reported"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("import", subs, argc, argv);
}
