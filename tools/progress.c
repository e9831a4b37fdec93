/*
 * progress.c — prints the library's hj_progress reports for people: on a
 * terminal only, rate-limited, with counts and an estimate of the time
 * left from the rate so far.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRESS_EVERY_MS 200 /* a line rewritten more often only flickers */

void cli_progress_line(char *out, size_t outsz, const cli_progress *p, const char *what, uint64_t done,
		       uint64_t total, int64_t now_ms)
{
	int64_t spent = now_ms - p->start_ms;
	size_t at = (size_t)snprintf(out, outsz, "%s: %llu", p->label, (unsigned long long)done);
	if (at >= outsz)
		return;
	if (total) {
		at += (size_t)snprintf(out + at, outsz - at, " of %llu %s (%d%%)", (unsigned long long)total, what,
				       (int)(done >= total ? 100 : done * 100 / total));
		/* The estimate from the rate so far, once there is one. */
		if (at < outsz && done && done < total && spent >= 1000) {
			double left = (double)spent * (double)(total - done) / (double)done / 1000.0;
			if (left < 90)
				snprintf(out + at, outsz - at, ", about %d s left", (int)(left + 0.5));
			else
				snprintf(out + at, outsz - at, ", about %d min left", (int)(left / 60 + 0.5));
		}
	} else {
		snprintf(out + at, outsz - at, " %s", what);
	}
}

static void report(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	cli_progress *p = ctx;
	int64_t now = hj_clock_mono_ms();
	if (!p->f)
		return;
	if (p->shown && now - p->last_ms < PROGRESS_EVERY_MS && (!total || done < total))
		return;
	char line[160];
	cli_progress_line(line, sizeof line, p, what, done, total, now);
	fprintf(p->f, "\r%s\033[K", line);
	fflush(p->f);
	p->shown = 1;
	p->last_ms = now;
}

hj_progress cli_progress_start(cli_progress *p, const char *label)
{
	const char *force = getenv("HUIJI_PROGRESS");
	memset(p, 0, sizeof *p);
	p->label = label;
	p->start_ms = hj_clock_mono_ms();
	if (force && strcmp(force, "0") == 0)
		p->f = NULL;
	else if ((force && strcmp(force, "1") == 0) || isatty(STDERR_FILENO))
		p->f = stderr;
	hj_progress out = {report, p};
	return out;
}

void cli_progress_clear(cli_progress *p)
{
	if (p->f && p->shown) {
		fputs("\r\033[K", p->f);
		fflush(p->f);
	}
	p->shown = 0;
}

void cli_progress_end(cli_progress *p)
{
	if (p->f && p->shown)
		fputc('\n', p->f);
	p->shown = 0;
}
