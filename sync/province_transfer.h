/*
 * province_transfer.h — the hub pass's part in transfers across provinces
 * (issue 8 §3; node/ops_province_transfer.c). After the peer registries
 * are refreshed (sync/peer.h), the hub reads each peer's audited registry
 * for offers to this province it has not taken in (writing
 * province.transfer_in, the person opened as "hub@<this province>" and
 * sealed afresh to the receiving union's nodes), for offers of its own the
 * peer has answered (province.transfer_out) and for offers the peer
 * withdrew after they were taken in (member.transfer_withdraw by the hub):
 * one hub change set a pass, like any hub command. What no fold decides
 * is an operator conflict, a row of province_conflict (schema 016).
 */
#ifndef HJ_PROVINCE_TRANSFER_H
#define HJ_PROVINCE_TRANSFER_H

#include "node.h"

#include <stdint.h>

typedef struct hj_province_xfer_report {
	uint64_t taken_in;  /* province.transfer_in written */
	uint64_t closed;    /* province.transfer_out written */
	uint64_t withdrawn; /* member.transfer_withdraw written for a peer's withdrawal */
	uint64_t conflicts; /* new province_conflict rows */
} hj_province_xfer_report;

/* One scan of every peer registry the hub holds. 0, or an error of the
 * hub's own registry (a peer registry that does not read is one too:
 * hj_peer_lookup_open). */
int hj_province_transfer_pass(hj_province_xfer_report *rep, hj_node *hub);

#endif
