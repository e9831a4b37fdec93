/*
 * bench_util.c — statistics over rounds, the printed table, removing the
 * scratch tree.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "bench.h"
#include "clock.h"

/* ---- timing and statistics ------------------------------------------- */

double now_s(void)
{
	return (double)hj_clock_mono_ns() * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Statistics over the n rounds of one measurement (n <= ROUNDS_MAX; an
 * even n takes the upper median). */

double median_n(const double *v, int n)
{
	double s[ROUNDS_MAX];
	memcpy(s, v, (size_t)n * sizeof s[0]);
	qsort(s, (size_t)n, sizeof s[0], cmp_double);
	return s[n / 2];
}

double vmin_n(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

double vmax_n(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Median over rounds of a[r] / b[r]: the two were measured side by side. */
double paired_ratio_n(const double *a, const double *b, int n)
{
	double r[ROUNDS_MAX];
	for (int i = 0; i < n; i++)
		r[i] = b[i] > 0 ? a[i] / b[i] : 0;
	return median_n(r, n);
}

double median(const double v[ROUNDS])
{
	return median_n(v, ROUNDS);
}

static double vmin(const double v[ROUNDS])
{
	return vmin_n(v, ROUNDS);
}

static double vmax(const double v[ROUNDS])
{
	return vmax_n(v, ROUNDS);
}

double paired_ratio(const double a[ROUNDS], const double b[ROUNDS])
{
	return paired_ratio_n(a, b, ROUNDS);
}

/* ---- printing ------------------------------------------------------------ */

/* A rate with thousands separators ("12,345"), or one decimal below 100. */
void fmt_rate(char *out, size_t outsz, double v)
{
	if (v < 100) {
		snprintf(out, outsz, "%.1f", v);
		return;
	}
	char digits[32], *o = out;
	int n = snprintf(digits, sizeof digits, "%.0f", v);
	for (int i = 0; i < n && (size_t)(o - out) + 2 < outsz; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			*o++ = ',';
		*o++ = digits[i];
	}
	*o = '\0';
}

void print_cols(const char *unit)
{
	printf("  %-42s %9s %12s %22s  %s\n", "measurement", "n/round", unit, "min..max", "ratio (median of rounds)");
}

void print_row(const char *what, long per_round, const double rate[ROUNDS], const char *ratio)
{
	char med[32], lo[32], hi[32], span[72];
	fmt_rate(med, sizeof med, median(rate));
	fmt_rate(lo, sizeof lo, vmin(rate));
	fmt_rate(hi, sizeof hi, vmax(rate));
	snprintf(span, sizeof span, "%s..%s", lo, hi);
	printf("  %-42s %9ld %12s %22s  %s\n", what, per_round, med, span, ratio ? ratio : "");
}

void print_ratio(const char *what, double r, const char *of)
{
	printf("  %-42s %9s %12s %22s  %.2fx %s\n", what, "", "", "", r, of);
}

const char *fs_name(const char *dir)
{
	struct statfs s;
	if (statfs(dir, &s) != 0)
		return "unknown filesystem";
	switch ((unsigned long)s.f_type) {
	case 0xEF53: return "ext4";
	case 0x01021994: return "tmpfs: fsync is free, single-op rates are not real";
	case 0x58465342: return "xfs";
	case 0x9123683EUL: return "btrfs";
	case 0x794C7630: return "overlayfs";
	default: return "other filesystem";
	}
}

int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

