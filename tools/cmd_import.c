/*
 * cmd_import.c — `huiji import platform FILE.csv`: a platform union's list
 * of drivers, applied in bulk.
 *
 * Every row is checked like `member apply`; a bad row is reported with its
 * line and reason and the rest go on. Good rows are recorded in change sets
 * of at most 1000 applications (the payload stays far below the 8 MiB cap),
 * each its own transaction. Exit 0 when every row was recorded, 1 when some
 * were refused (the others are recorded all the same: see the summary).
 */
#include "application.h"
#include "cli.h"
#include "csv.h"
#include "error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define IMPORT_BATCH 1000

static const cli_opt opts[] = {
	{"platform", 1, "platform for rows without a platform column, e.g. yunmanman"},
	{"channel", 1, "entrance for rows without a channel column (default platform_app)"},
	{"group", 1, "worker group for rows without a group column (default truck_driver)"},
	{"union", 1, "receiving union for rows without a union column (default this node's)"},
	{"on", 1, "application date for rows without an on column (default today)"},
	{"approve", 0, "approve each application at once (join at once)"},
	{NULL, 0, NULL},
};

enum { C_NAME, C_ID, C_PHONE, C_PLATE, C_GROUP, C_CHANNEL, C_PLATFORM, C_UNION, C_ON, C_COUNT };
static const char *const columns[C_COUNT] = {"name", "id_number", "phone", "plate", "group",
					       "channel", "platform", "union", "on"};

typedef struct importer {
	hj_node *n;
	hj_batch b;
	int open, approve;
	long rows, done, refused;
	uint64_t first_seq, last_seq;
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

static void refuse(importer *im, long line, const char *why)
{
	im->refused++;
	fprintf(stderr, "huiji: line %ld: %s\n", line, why);
}

/* One row: check, fold; returns < 0 only for failures that stop the import. */
static int import_row(importer *im, const hj_application *a, long line)
{
	hj_json *op = NULL;
	hj_verdict v;
	char mid[160];
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
	if (im->approve) {
		hj_json *ap = cli_op_new("member.approve");
		if (!ap || hj_json_set_str(ap, "member", mid) || hj_json_set_str(ap, "on", a->on)) {
			hj_json_free(ap);
			return hj_error_set(HJ_ENOMEM, "out of memory");
		}
		if ((rc = hj_batch_apply(&im->b, ap, &v, NULL, 0)))
			return rc;
		if (!v.applied) {
			/* The application stands (it is in the batch); say the
			 * approval did not, so the clerk decides it by hand. */
			char why[700];
			snprintf(why, sizeof why, "application %s recorded, but its approval was refused: %s: %s", mid,
				 v.reason, v.detail);
			refuse(im, line, why);
			return 0;
		}
	}
	im->done++;
	if (im->b.applied >= IMPORT_BATCH)
		return flush(im);
	return 0;
}

/* The header names the columns; their order is free. col[k] = the field
 * index of columns[k], or -1. */
static int read_header(int col[C_COUNT], hj_csv *csv, const char *path)
{
	char **fields;
	size_t nf;
	long line;
	int rc;
	if ((rc = hj_csv_next(csv, &fields, &nf, &line)) != 1)
		return rc == 0 ? hj_error_set(HJ_EINVALID, "%s is empty: the first line must name the columns", path)
			       : hj_error_wrap(rc, "%s line 1: ", path);
	for (int k = 0; k < C_COUNT; k++)
		col[k] = -1;
	for (size_t i = 0; i < nf; i++) {
		int k;
		for (k = 0; k < C_COUNT && strcmp(fields[i], columns[k]) != 0; k++)
			;
		if (k == C_COUNT)
			return hj_error_set(HJ_EINVALID, "%s line 1: unknown column '%.40s' (known: name, id_number, phone, "
					    "plate, group, channel, platform, union, on)", path, fields[i]);
		col[k] = (int)i;
	}
	if (col[C_NAME] < 0 || col[C_ID] < 0 || col[C_PHONE] < 0)
		return hj_error_set(HJ_EINVALID, "%s line 1: columns name, id_number and phone are required", path);
	return 0;
}

/* Every record after the header: a malformed one is refused by its line,
 * a good one becomes an application (defaults from the options). */
static int import_rows(importer *im, const cli *c, hj_csv *csv, const int col[C_COUNT], const char *today)
{
	char **fields;
	size_t nf;
	long line;
	int rc;
	while ((rc = hj_csv_next(csv, &fields, &nf, &line)) != 0) {
		im->rows++;
		if (rc == HJ_EINVALID) {
			refuse(im, line, hj_error_last());
			continue;
		}
		if (rc < 0)
			return rc;
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
			.on = FIELD(C_ON, cli_get(c, "on") ? cli_get(c, "on") : today),
		};
#undef FIELD
		if ((rc = import_row(im, &a, line)))
			return rc;
	}
	return 0;
}

int cmd_import(int argc, char **argv)
{
	cli c;
	importer im = {0};
	hj_csv *csv = NULL;
	FILE *f = NULL;
	char today[11];
	int col[C_COUNT], rc;

	if (argc < 2 || strcmp(argv[0], "platform") != 0 || strncmp(argv[1], "--", 2) == 0)
		return cli_fail(hj_error_set(HJ_EINVALID, "usage: huiji import platform FILE.csv [options] (see --help)"));
	const char *path = argv[1];
	if ((rc = cli_parse(&c, "import platform", opts, argc - 2, argv + 2)))
		return rc > 0 ? 0 : cli_fail(rc);
	hj_clock_today(today);
	im.approve = cli_flag(&c, "approve");
	if (!(f = fopen(path, "rb")))
		return cli_fail(hj_error_set(HJ_ENOTFOUND, "%s: cannot open", path));
	if ((rc = hj_csv_open(&csv, f)))
		goto done;
	if ((rc = read_header(col, csv, path)))
		goto done;
	if ((rc = cli_open_node(&c, &im.n)))
		goto done;
	if ((rc = import_rows(&im, &c, csv, col, today)))
		goto done;
	rc = flush(&im);
	if (!rc)
		rc = cli_flush_outbox(im.n);
done:
	if (im.open)
		hj_batch_abort(&im.b);
	if (im.n && !rc) {
		printf("imported %ld of %ld rows", im.done, im.rows);
		if (im.first_seq)
			printf(" (change sets %" PRIu64 "-%" PRIu64 ")", im.first_seq, im.last_seq);
		printf("; %ld refused%s\n", im.refused, im.refused ? " (listed above, with their lines)" : "");
	}
	hj_node_close(im.n);
	hj_csv_close(csv);
	fclose(f);
	if (rc)
		return cli_fail(rc);
	return im.refused ? 1 : 0;
}
