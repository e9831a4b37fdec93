/*
 * rules.h — the fold's rules versions. A rule added to the fold never
 * changes a verdict already signed: each hub sequence entry names the
 * rules version it was decided under (hub_entry.h), and whoever re-folds
 * that position (the hub rebuilding, a county replaying, an auditor)
 * applies that version's rules there. This file lists the versions and
 * owns the checks that arrived after version 1.
 */
#ifndef HJ_RULES_H
#define HJ_RULES_H

#include "fold.h"

#include <stdint.h>

/*
 * Versions:
 *   1  the rules of the first hub entries (huiji before rules versions).
 *   2  + the person key must be the province's keyed hash of the ID number
 *        the op carries (reason "person_key_mismatch");
 *      + an op's date may not lie more than a day (HJ_RULES_DATE_GRACE_MS)
 *        past its "now" ("future_date"), and an approval, rejection or
 *        leave may not be dated before the application or the admission
 *        it ends ("date_order");
 *      + names (of orgs and people) hold no control characters ("invalid":
 *        each costs six bytes wherever a name is quoted in JSON, and none
 *        belongs in a name).
 *   3  + transfers of a membership record (ops_transfer.c: the hand-down),
 *        and the state digest v3, covering them (projection.h).
 *   4  + personal fields sealed (person_seal.h): at the hub a seal that
 *        does not open, does not match its commitment or is not sealed to
 *        the hub is "invalid"; the state digest v4 covers a sealed person
 *        row by its commitment.
 *   5  + an application of a person holding an active membership in a
 *        province this hub follows as a peer is "duplicate_province"
 *        (peer_dup.h); a re-fold holds no peer registry and takes that
 *        verdict on the hub's word.
 * Each version only adds refusals, so an op a later version applied is
 * applied by an earlier one too.
 */
#ifndef HJ_RULES_VERSION /* a test build may pin it: see tests/meson.build */
#define HJ_RULES_VERSION 6
#endif

/* A date may lie this far past "now" (ms): time zones, and a clerk
 * recording tomorrow's joining ceremony. */
#define HJ_RULES_DATE_GRACE_MS (24 * 3600 * 1000LL)

/* Rules version 2: is the date `on` (YYYY-MM-DD, already checked) beyond
 * ctx->now_ms plus the grace, both read as China Standard Time (UTC+8, the
 * time every union office keeps)? Rejects "future_date" into *v and
 * returns 1; 0 when fine, when ctx->now_ms is 0 (unknown) or when the
 * position's rules are older. */
int hj_rules_future_date(const hj_foldctx *ctx, const char *field, const char *on, hj_verdict *v);

/* Rules version 2: an event dated `on` may not precede the event dated
 * `before` (what it decides or ends). Rejects "date_order" and returns 1;
 * 0 when fine, when `before` is NULL or when the rules are older. */
int hj_rules_date_order(const hj_foldctx *ctx, const char *what, const char *on, const char *before_what,
			const char *before, hj_verdict *v);

/* Rules version 2: the person key `key` of an application must be the
 * keyed hash of the ID number `idnum` (normal form) under the province's
 * person secret. Rejects "person_key_mismatch" and returns 1; 0 when fine
 * or when the rules are older. Without the secret (an auditor not given
 * the person key) the check cannot run: the hub's verdict for this op,
 * ctx->hub_reason, is taken as it stands and counted in
 * *ctx->pkey_on_hub_word. A county following the hub (trust_hub) skips it. */
int hj_rules_person_key(const hj_foldctx *ctx, const char *key, const char *idnum, hj_verdict *v);

/* Rules version 2: `name` (of what `what` says) holds no C0 control
 * character or DEL. Rejects "invalid" and returns 1; 0 when fine, when
 * name is NULL or the rules are older. */
int hj_rules_name_text(const hj_foldctx *ctx, const char *what, const char *name, hj_verdict *v);

/* Does the position's rules version reach `version`? An op that arrived
 * with that version calls it first: 0 when it does, else rejects
 * "invalid" (naming the version) into *v and returns 1, so a re-fold of
 * an older position refuses the op as the hub of that time did. */
int hj_rules_at_least(const hj_foldctx *ctx, uint32_t version, const char *what, hj_verdict *v);

/* "YYYY-MM-DD" of the CST day holding ms since the epoch (+ grace). */
void hj_rules_cst_date(char out[11], int64_t ms);

#endif
