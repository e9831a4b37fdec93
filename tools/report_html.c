/*
 * report_html.c — the reports as ONE self-contained HTML page: inline CSS,
 * charts as inline SVG, no script, no external resource (fonts named, not
 * fetched), so it opens offline from a USB stick. Each report gives a
 * chart — rates against targets by union (bars and target marks), the
 * monthly members lines, services spend against budget — and its figures
 * as a table: <table id="<report>">, each cell <td class="c-<column key>">
 * holding exactly the CSV's text, which is what the tests read back.
 */
#include "report.h"
#include "buf.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
				      "#e377c2"};

static void esc(hj_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': hj_buf_puts(b, "&amp;"); break;
		case '<': hj_buf_puts(b, "&lt;"); break;
		case '>': hj_buf_puts(b, "&gt;"); break;
		case '"': hj_buf_puts(b, "&quot;"); break;
		case '\'': hj_buf_puts(b, "&#39;"); break;
		default: hj_buf_put_u8(b, (uint8_t)*s);
		}
	}
}

static double num(const rpt_table *t, size_t r, const char *key)
{
	const char *v = rpt_cell(t, r, key);
	return v && *v ? strtod(v, NULL) : 0.0;
}

static int has(const rpt_table *t, size_t r, const char *key)
{
	const char *v = rpt_cell(t, r, key);
	return v && *v;
}

static const char *status_color(const char *s)
{
	if (!s || !*s)
		return "#555";
	if (strcmp(s, "met") == 0)
		return "#2ca02c";
	if (strcmp(s, "on_track") == 0)
		return "#1f77b4";
	if (strcmp(s, "behind") == 0)
		return "#ff7f0e";
	return "#d62728"; /* missed, no_survey */
}

/* Rates against targets: a bar per row with a rate, the target due next
 * (else the last passed) as a mark coloured by its status. */
static void chart_coverage(hj_buf *b, const rpt_table *t)
{
	size_t rows[60], n = 0;
	int group = rpt_cell(t, 0, "group") != NULL;
	for (size_t r = 0; r < t->nrows && n < 60; r++)
		if (has(t, r, "rate_percent"))
			rows[n++] = r;
	int h = 40 + 24 * (int)(n ? n : 1);
	hj_buf_printf(b, "<svg id=\"chart-coverage\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
			 "height=\"%d\" viewBox=\"0 0 900 %d\" role=\"img\"><title>membership rate against target, by "
			 "union</title>", h, h);
	if (!n)
		hj_buf_puts(b, "<text x=\"10\" y=\"30\" class=\"note\">no survey estimates yet: no rate to draw</text>");
	for (int p = 0; p <= 100; p += 25)
		hj_buf_printf(b, "<line x1=\"%d\" y1=\"20\" x2=\"%d\" y2=\"%d\" class=\"grid\"/><text x=\"%d\" y=\"14\" "
				 "class=\"axis\">%d%%</text>", 300 + p * 5, 300 + p * 5, h - 16, 292 + p * 5, p);
	for (size_t i = 0; i < n; i++) {
		size_t r = rows[i];
		int y = 24 + 24 * (int)i;
		double rate = num(t, r, "rate_percent");
		int w = (int)(rate * 5 + 0.5);
		hj_buf_puts(b, "<text x=\"290\" class=\"label\" text-anchor=\"end\" y=\"");
		hj_buf_printf(b, "%d\">", y + 13);
		esc(b, rpt_cell(t, r, "union"));
		if (group) {
			hj_buf_puts(b, " · ");
			esc(b, rpt_cell(t, r, "group"));
		}
		hj_buf_printf(b, "</text><rect class=\"bar\" x=\"300\" y=\"%d\" width=\"%d\" height=\"16\"/>", y,
			      w > 560 ? 560 : w);
		hj_buf_printf(b, "<text class=\"value\" x=\"%d\" y=\"%d\">", 306 + (w > 560 ? 560 : w), y + 13);
		esc(b, rpt_cell(t, r, "rate_percent"));
		hj_buf_puts(b, "%</text>");
		const char *tk = has(t, r, "target_percent") ? "target_percent" : "last_target_percent";
		const char *sk = has(t, r, "target_percent") ? "target_status" : "last_target_status";
		if (group && has(t, r, tk)) {
			int x = 300 + (int)(num(t, r, tk) * 5 + 0.5);
			hj_buf_printf(b, "<line class=\"target\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\"><title>",
				      x, y - 3, x, y + 19, status_color(rpt_cell(t, r, sk)));
			esc(b, rpt_cell(t, r, tk));
			hj_buf_puts(b, "% ");
			esc(b, rpt_cell(t, r, sk));
			hj_buf_puts(b, "</title></line>");
		}
	}
	hj_buf_puts(b, "</svg>");
}

/* Monthly members, one line per union: the eight largest at the end. */
static void chart_progress(hj_buf *b, const rpt_table *t)
{
	char *ids[8];
	double lastv[8], maxv = 1;
	size_t nu = 0, nm = 0;
	for (size_t r = 0; r < t->nrows; r++) {
		const char *id = rpt_cell(t, r, "union_id");
		if (r + 1 < t->nrows && strcmp(rpt_cell(t, r + 1, "union_id"), id) == 0)
			continue; /* the union's last month */
		double v = num(t, r, "active_members");
		size_t k = nu < 8 ? nu++ : 8;
		if (k == 8) { /* replace the smallest if larger */
			size_t s = 0;
			for (size_t i = 1; i < 8; i++)
				s = lastv[i] < lastv[s] ? i : s;
			if (v <= lastv[s])
				continue;
			k = s;
		}
		ids[k] = (char *)id;
		lastv[k] = v;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		if (strcmp(rpt_cell(t, r, "union_id"), rpt_cell(t, 0, "union_id")) == 0)
			nm++;
		if (num(t, r, "active_members") > maxv)
			maxv = num(t, r, "active_members");
	}
	hj_buf_puts(b, "<svg id=\"chart-progress\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
		       "height=\"360\" viewBox=\"0 0 900 360\" role=\"img\"><title>members at each month's end</title>"
		       "<line x1=\"60\" y1=\"300\" x2=\"660\" y2=\"300\" class=\"grid\"/>"
		       "<line x1=\"60\" y1=\"20\" x2=\"60\" y2=\"300\" class=\"grid\"/>");
	hj_buf_printf(b, "<text x=\"54\" y=\"24\" class=\"axis\" text-anchor=\"end\">%.0f</text>"
			 "<text x=\"54\" y=\"300\" class=\"axis\" text-anchor=\"end\">0</text>", maxv);
	for (size_t r = 0, m = 0; r < t->nrows && m < nm; r++, m++) { /* the months, under the axis */
		double x = 60 + (nm > 1 ? 600.0 * (double)m / (double)(nm - 1) : 300);
		if (nm > 13 && m % ((nm + 11) / 12) && m + 1 != nm)
			continue;
		hj_buf_printf(b, "<text class=\"axis\" x=\"%.1f\" y=\"318\" text-anchor=\"middle\">", x);
		esc(b, rpt_cell(t, r, "month"));
		hj_buf_puts(b, "</text>");
	}
	for (size_t u = 0; u < nu; u++) {
		size_t m = 0;
		hj_buf_printf(b, "<polyline class=\"line\" fill=\"none\" stroke=\"%s\" points=\"", palette[u]);
		for (size_t r = 0; r < t->nrows; r++) {
			if (strcmp(rpt_cell(t, r, "union_id"), ids[u]) != 0)
				continue;
			double x = 60 + (nm > 1 ? 600.0 * (double)m / (double)(nm - 1) : 300);
			double y = 300 - 280.0 * num(t, r, "active_members") / maxv;
			hj_buf_printf(b, "%s%.1f,%.1f", m ? " " : "", x, y);
			m++;
		}
		hj_buf_printf(b, "\"/><rect x=\"680\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
				 "<text class=\"label\" x=\"698\" y=\"%d\">", 24 + 20 * (int)u, palette[u], 35 + 20 * (int)u);
		esc(b, ids[u]);
		hj_buf_puts(b, "</text>");
	}
	if (!nu)
		hj_buf_puts(b, "<text x=\"80\" y=\"150\" class=\"note\">no members in these months</text>");
	hj_buf_puts(b, "</svg>");
}

/* Spend against budget: per service its latest period listed. */
static void chart_services(hj_buf *b, const rpt_table *t)
{
	size_t rows[40], n = 0;
	double maxv = 1;
	for (size_t r = 0; r < t->nrows && n < 40; r++) {
		if (r + 1 < t->nrows && strcmp(rpt_cell(t, r + 1, "service"), rpt_cell(t, r, "service")) == 0)
			continue;
		rows[n++] = r;
		if (num(t, r, "budget_yuan") > maxv)
			maxv = num(t, r, "budget_yuan");
		if (num(t, r, "spend_yuan") > maxv)
			maxv = num(t, r, "spend_yuan");
	}
	int h = 40 + 28 * (int)(n ? n : 1);
	hj_buf_printf(b, "<svg id=\"chart-services\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
			 "height=\"%d\" viewBox=\"0 0 900 %d\" role=\"img\"><title>spend against budget (yuan)</title>",
		      h, h);
	if (!n)
		hj_buf_puts(b, "<text x=\"10\" y=\"30\" class=\"note\">no services defined</text>");
	for (size_t i = 0; i < n; i++) {
		size_t r = rows[i];
		int y = 24 + 28 * (int)i;
		int bw = (int)(500.0 * num(t, r, "budget_yuan") / maxv + 0.5);
		int sw = (int)(500.0 * num(t, r, "spend_yuan") / maxv + 0.5);
		hj_buf_printf(b, "<text x=\"290\" y=\"%d\" class=\"label\" text-anchor=\"end\">", y + 14);
		esc(b, rpt_cell(t, r, "name"));
		hj_buf_puts(b, " ");
		esc(b, rpt_cell(t, r, "period"));
		hj_buf_printf(b, "</text><rect class=\"budget\" x=\"300\" y=\"%d\" width=\"%d\" height=\"20\"/>"
				 "<rect class=\"spend\" x=\"300\" y=\"%d\" width=\"%d\" height=\"20\"/>"
				 "<text class=\"value\" x=\"%d\" y=\"%d\">", y, bw, y + 4, sw, 306 + (bw > sw ? bw : sw), y + 14);
		esc(b, rpt_cell(t, r, "spend_yuan"));
		if (has(t, r, "budget_yuan")) {
			hj_buf_puts(b, " / ");
			esc(b, rpt_cell(t, r, "budget_yuan"));
		}
		hj_buf_puts(b, " 元</text>");
	}
	hj_buf_puts(b, "</svg>");
}

static void table(hj_buf *b, const rpt_table *t)
{
	hj_buf_puts(b, "<table class=\"report\" id=\"");
	esc(b, t->id);
	hj_buf_puts(b, "\"><thead><tr>");
	for (size_t c = 0; c < t->ncol; c++) {
		hj_buf_printf(b, "<th class=\"c-%s%s\">", t->cols[c].key, t->cols[c].num ? " num" : "");
		esc(b, t->cols[c].key);
		hj_buf_puts(b, "</th>");
	}
	hj_buf_puts(b, "</tr></thead><tbody>\n");
	for (size_t r = 0; r < t->nrows; r++) {
		hj_buf_puts(b, "<tr>");
		for (size_t c = 0; c < t->ncol; c++) {
			hj_buf_printf(b, "<td class=\"c-%s%s\">", t->cols[c].key, t->cols[c].num ? " num" : "");
			esc(b, t->cells[r * t->ncol + c]);
			hj_buf_puts(b, "</td>");
		}
		hj_buf_puts(b, "</tr>\n");
	}
	hj_buf_puts(b, "</tbody></table>\n");
}

static const char css[] =
	"body{font-family:'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','WenQuanYi Micro Hei',sans-serif;"
	"margin:24px;color:#222;background:#fff}h1{font-size:22px}h2{font-size:18px;margin-top:32px}"
	"table.report{border-collapse:collapse;font-size:12px;margin-top:12px}"
	"table.report th,table.report td{border:1px solid #ccc;padding:2px 6px;white-space:nowrap}"
	"table.report th{background:#eef}td.num,th.num{text-align:right}"
	".chart{display:block;margin:8px 0}.chart .grid{stroke:#ddd}.chart .axis{font-size:11px;fill:#666}"
	".chart .label{font-size:12px;fill:#222}.chart .value{font-size:11px;fill:#222}"
	".chart .bar{fill:#6baed6}.chart .target{stroke-width:3}.chart .budget{fill:#eee;stroke:#999}"
	".chart .spend{fill:#3182bd;height:12px}.chart .line{stroke-width:2}.chart .note{font-size:14px;fill:#900}"
	"p.legend span{display:inline-block;margin-right:12px}";

int rpt_write_html(FILE *f, const rpt_table *const *t, size_t n, const char *title)
{
	hj_buf b = HJ_BUF_INIT;
	int rc = 0;
	hj_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>");
	esc(&b, title);
	hj_buf_printf(&b, "</title><style>%s</style></head>\n<body><h1>", css);
	esc(&b, title);
	hj_buf_puts(&b, "</h1>\n");
	for (size_t i = 0; i < n; i++) {
		hj_buf_puts(&b, "<section id=\"sec-");
		esc(&b, t[i]->id);
		hj_buf_puts(&b, "\"><h2>");
		esc(&b, t[i]->title);
		hj_buf_puts(&b, "</h2>\n");
		if (strcmp(t[i]->id, "coverage") == 0 && rpt_cell(t[i], 0, "union_id") && t[i]->nrows)
			chart_coverage(&b, t[i]);
		else if (strcmp(t[i]->id, "coverage") == 0 && t[i]->nrows && rpt_cell(t[i], 0, "county_id"))
			; /* the survey file's county table: figures only */
		else if (strcmp(t[i]->id, "progress") == 0 && t[i]->nrows)
			chart_progress(&b, t[i]);
		else if (strcmp(t[i]->id, "services") == 0)
			chart_services(&b, t[i]);
		if (strcmp(t[i]->id, "coverage") == 0)
			hj_buf_puts(&b, "<p class=\"legend\">target marks: <span style=\"color:#2ca02c\">■ met</span>"
					"<span style=\"color:#1f77b4\">■ on track</span><span style=\"color:#ff7f0e\">■ "
					"behind</span><span style=\"color:#d62728\">■ missed / no survey</span></p>\n");
		table(&b, t[i]);
		hj_buf_puts(&b, "</section>\n");
	}
	hj_buf_puts(&b, "</body></html>\n");
	if (b.rc || fwrite(b.data, 1, b.len, f) != b.len)
		rc = hj_error_set(b.rc ? HJ_ENOMEM : HJ_ERROR, "cannot write the report");
	hj_buf_free(&b);
	return rc;
}
