/*
 * rules.c — the checks that arrived after rules version 1 (rules.h). Each
 * one asks the position's rules version first, so a re-fold of an older
 * hub entry gives the verdict that entry signed.
 */
#include "rules.h"
#include "idnum.h"
#include "person_key.h"

#include <stdio.h>
#include <string.h>

#define CST_OFFSET_MS (8 * 3600 * 1000LL)
#define DAY_MS (86400 * 1000LL)

static uint32_t rules_of(const hj_foldctx *ctx)
{
	return ctx->rules ? ctx->rules : 1;
}

void hj_rules_cst_date(char out[11], int64_t ms)
{
	int64_t t = ms + CST_OFFSET_MS;
	int64_t days = t >= 0 ? t / DAY_MS : -((-t + DAY_MS - 1) / DAY_MS);
	int y, m, d;
	hj_date_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		y = y < 0 ? 0 : 9999; /* a nonsense clock: clamp, the text stays 10 bytes */
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

int hj_rules_future_date(const hj_foldctx *ctx, const char *field, const char *on, hj_verdict *v)
{
	char latest[11];
	if (rules_of(ctx) < 2 || ctx->now_ms <= 0 || !on)
		return 0;
	hj_rules_cst_date(latest, ctx->now_ms + HJ_RULES_DATE_GRACE_MS);
	if (strcmp(on, latest) <= 0) /* both strict YYYY-MM-DD: text order is date order */
		return 0;
	hj_reject(v, "future_date", "%s %s is after %s, the latest date allowed on this change set (a day "
		  "past its time)", field, on, latest);
	return 1;
}

int hj_rules_date_order(const hj_foldctx *ctx, const char *what, const char *on, const char *before_what,
			const char *before, hj_verdict *v)
{
	if (rules_of(ctx) < 2 || !on || !before || strcmp(on, before) >= 0)
		return 0;
	hj_reject(v, "date_order", "%s %s is before the %s %s", what, on, before_what, before);
	return 1;
}

int hj_rules_person_key(const hj_foldctx *ctx, const char *key, const char *idnum, hj_verdict *v)
{
	char want[65];
	if (rules_of(ctx) < 2 || ctx->trust_hub)
		return 0;
	if (!ctx->person_secret) {
		/* Cannot recompute: the hub's verdict stands for this check. */
		if (ctx->pkey_on_hub_word)
			(*ctx->pkey_on_hub_word)++;
		if (ctx->hub_reason && strcmp(ctx->hub_reason, "person_key_mismatch") == 0) {
			hj_reject(v, "person_key_mismatch", "the person key is not the one of the ID number (the hub's "
				  "verdict; re-fold without the person key)");
			return 1;
		}
		return 0;
	}
	hj_person_key_derive(want, ctx->person_secret, idnum);
	if (strcmp(want, key) == 0)
		return 0;
	hj_reject(v, "person_key_mismatch", "the person key is not the province's key of the ID number the "
		  "application carries");
	return 1;
}

int hj_rules_name_text(const hj_foldctx *ctx, const char *what, const char *name, hj_verdict *v)
{
	if (rules_of(ctx) < 2 || !name)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			hj_reject(v, "invalid", "%s: a name may not hold control characters", what);
			return 1;
		}
	return 0;
}

int hj_rules_at_least(const hj_foldctx *ctx, uint32_t version, const char *what, hj_verdict *v)
{
	if (rules_of(ctx) >= version)
		return 0;
	hj_reject(v, "invalid", "%s needs fold rules %u; this position was decided under rules %u", what,
		  (unsigned)version, (unsigned)rules_of(ctx));
	return 1;
}
