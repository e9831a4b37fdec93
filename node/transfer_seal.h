/*
 * transfer_seal.h — the snapshot a transfer op signs, with the person
 * sealed (op version 3). The holding side shows the receiving side what it
 * moves; since the op travels through the hub and into both ends' inboxes,
 * the person inside it leaves this node only sealed, to the nodes of both
 * ends (person_seal.h), never in plaintext.
 */
#ifndef HJ_TRANSFER_SEAL_H
#define HJ_TRANSFER_SEAL_H

#include "json.h"
#include "node.h"

/* *out = the registry's snapshot of member `member_id`
 * (hj_fold_transfer_snapshot) with its person replaced by
 * {"key":K,"seal":C,"sealed":{...}} (C: the commitment the registry row
 * came from, absent for a plaintext one): name, ID number, phone and plate sealed to the
 * hub, the auditors, this node and the union nodes at or above the
 * record's union and `to`. HJ_ENOTFOUND: no such membership here;
 * HJ_EINVALID: this node holds the record but may not open the person
 * (only the hub can move it); otherwise the sealing's codes. */
int hj_transfer_snapshot_sealed(hj_json **out, const hj_node *n, const char *member_id, const char *to);
/* The same for an offer to union `to` of peer province `province` (NULL:
 * this one): sealed also to that province's hub as "hub@<province>"
 * instead of to `to`'s nodes, which only that hub knows. */
int hj_transfer_snapshot_sealed_to(hj_json **out, const hj_node *n, const char *member_id, const char *to,
				   const char *province);

#endif
