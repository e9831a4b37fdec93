/*
 * rewrap.h — the hub's re-wraps: a seal names the nodes its author knew
 * to hold the record (person_seal.h); the hub gives the data key, wrapped
 * anew, to a node it delivers the change set to that the author did not
 * name (one enrolled later, given its union's history; the receiver of a
 * transfer enrolled after the offer). No signature is needed: a wrap opens
 * only to the plaintext the author's signed commitment names, or fails
 * (schema/013_rewrap.sql).
 */
#ifndef HJ_REWRAP_H
#define HJ_REWRAP_H

#include "buf.h"
#include "db.h"
#include "fold.h"
#include "json.h"
#include "seal.h"

/* Where an op carries sealed objects: which = 0 an application's or
 * request's person, 1 an update's fields, 2 a snapshot's person (NULL
 * where it has none). What the hub re-wraps, and the audit holds it to. */
#define HJ_REWRAP_PLACES 3
const hj_json *hj_rewrap_sealed_at(const hj_json *op, int which);

/* Append [commitment hex, wrap hex] to the array `pairs` for every sealed
 * object of `op` (an application's or request's person, an update's
 * fields, a snapshot's person) without a wrap for `to_id`, the data key
 * re-wrapped by the hub (`hub`, which opens every seal it took) to
 * `to_xpk`. A seal the hub cannot open (a rejected op's) gets none.
 * 0 or HJ_ENOMEM. */
int hj_rewrap_op(hj_json *pairs, const hj_json *op, const hj_unsealer *hub, const char *to_id,
		 const uint8_t to_xpk[32]);

/* Open s with a wrap the hub gave this node (table seal_wrap of db),
 * appending the plaintext to plain: 0, HJ_ENOTFOUND when none is held or
 * none opens (tried and passed over), HJ_ENOMEM or a lookup's error. */
int hj_rewrap_open(hj_buf *plain, hj_db *db, const hj_sealed *s, const uint8_t my_pk[32], const uint8_t my_sk[32]);

#endif
