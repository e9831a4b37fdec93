/*
 * enrolled.h — a node's enrolled key as the registry holds it (table
 * `node`, folded from node.enroll): the one lookup every checker of a
 * signature uses (replay, the sequencer, the hook, the audit).
 */
#ifndef HJ_ENROLLED_H
#define HJ_ENROLLED_H

#include "db.h"

#include <stdint.h>

/* 0 with pk filled; HJ_ENOTFOUND when `node` is not enrolled (message
 * set); HJ_ECORRUPT when the stored key is not 64 hex digits; or the
 * lookup's own error — never "not enrolled" for a failed query. */
int hj_enrolled_key(uint8_t pk[32], hj_db *db, const char *node);

#endif
