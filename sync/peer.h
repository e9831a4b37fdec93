/*
 * peer.h — a hub following the provinces it enrolled as peers (issue 8
 * §3; op province.peer, node/ops_peer.c). At every hub pass, for each
 * peer: fetch its hub repository into <hub>/peers/<province>.git and audit
 * it exactly as `huiji audit` does, with the peer's hub key pinned (every
 * chain, signature and enrolment checked, its whole order re-folded,
 * every verdict and digest it published recomputed); only an audit that
 * found nothing wrong installs the re-folded registry as
 * <hub>/peers/<province>.db (temp file, fsync, rename), which the
 * sequencer's fold looks applicants up in (node/peer_dup.h). Anything
 * else — the peer unreachable, slow, too big, or lying — keeps the last
 * good registry, is recorded in peer_state with the problem, and never
 * stops or fails the pass for the province's own counties.
 */
#ifndef HJ_PEER_H
#define HJ_PEER_H

#include "node.h"
#include "transport.h"

#include <stdint.h>

/* A peer repository bigger than this after the fetch is refused (its
 * registry not installed): a peer cannot fill the hub's disk unnoticed.
 * The fetch itself is bounded in time by the transport options. */
#define HJ_PEER_MAX_BYTES (4ULL << 30)

typedef struct hj_peer_report {
	uint64_t peers;     /* enrolled */
	uint64_t followed;  /* audited clean, registry installed */
	uint64_t unchanged; /* the peer's hub feed had not moved: nothing to do */
	uint64_t failed;    /* see peer_state.problem (huiji hub peers) */
	uint64_t busy;      /* another pass was following it */
} hj_peer_report;

/* Follow every enrolled peer once (net NULL: the defaults, total time cut
 * to 120 s a peer). Returns 0 whatever each peer did (recorded in
 * peer_state and counted in *rep); an error only when the hub's own
 * registry could not be read or written, like any hub command. */
int hj_peer_follow_all(hj_peer_report *rep, hj_node *hub, const hj_net_opts *net);

#endif
