/*
 * person_seal.h — a person's fields as ops carry them once sealing is on
 * (issue 8 item 4): {"key":K,"sealed":{...}} (node/seal.h), the plaintext
 * {"name","id_number","phone","plate"} encrypted once and its key wrapped
 * to each node that holds the person's record — the hub ("hub"), every
 * enrolled auditor, the author, and every union node at or above the
 * record's union — so neither the hub repository nor a county outside
 * that subtree holds it in plaintext. The fold reads a person through
 * hj_person_view, which opens the seal when this node may.
 */
#ifndef HJ_PERSON_SEAL_H
#define HJ_PERSON_SEAL_H

#include "fold.h"
#include "json.h"
#include "node.h"

#include <stddef.h>

/* Seal `fields` (a JSON object of personal fields) for a record of union
 * `org`, by node n: *out = a new {"sealed":{...}} object, or with `key`
 * {"key":K,"sealed":{...}}. HJ_EINVALID when the hub's key is unknown. */
int hj_person_seal(hj_json **out, const hj_node *n, const char *key, const hj_json *fields, const char *org);

/* Set obj's "sealed" to `fields` sealed as above (member.update's). */
int hj_person_seal_set(hj_json *obj, const hj_node *n, const hj_json *fields, const char *org);

/* The same for the nodes of several unions at once (a transfer's
 * snapshot: both ends, transfer_seal.h); a NULL entry is skipped. */
int hj_person_seal_set_for(hj_json *obj, const hj_node *n, const hj_json *fields, const char *const *orgs,
			   size_t norgs);
/* The same, sealed also to the hub of peer province `province` (NULL:
 * none) as "hub@<province>" (fold.h HJ_SEAL_HUB_AT): a cross-province
 * transfer's snapshot. HJ_ENOTFOUND when it is not an enrolled peer. */
int hj_person_seal_set_peer(hj_json *obj, const hj_node *n, const hj_json *fields, const char *const *orgs,
			    size_t norgs, const char *province);

/* A person object as this fold reads it: *out = a new object with "key",
 * "name", "id_number", "phone", "plate" and, for a sealed one, "seal"
 * (the commitment, hex). *readable = 0 when it is sealed and this node
 * cannot open it (no unsealer, or no wrap for it): name and id_number are
 * then "" and the rest absent. Plaintext objects (before sealing) are
 * copied as they are. HJ_ECORRUPT (message set) for a seal that is
 * malformed, does not open or does not match its commitment, a verdict
 * for the caller, not a failure. */
int hj_person_view(hj_json **out, int *readable, const hj_foldctx *ctx, const hj_json *person);

/* The same for a sealed object of other fields (member.update's): *out
 * the opened object, NULL when this node cannot open it; *commit the
 * commitment's hex. */
int hj_person_open_fields(hj_json **out, char commit[65], const hj_foldctx *ctx, const hj_json *sealed);

#endif
