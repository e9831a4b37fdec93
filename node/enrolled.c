/*
 * enrolled.c — look up a node's enrolled key (enrolled.h).
 */
#include "enrolled.h"
#include "error.h"
#include "hex.h"

#include <stdlib.h>

int hj_enrolled_key(uint8_t pk[32], hj_db *db, const char *node)
{
	char *hex = NULL;
	int rc = hj_db_get_text(&hex, db, "SELECT pubkey FROM node WHERE id = :n", ":n", node);
	if (rc == HJ_ENOTFOUND)
		return hj_error_set(HJ_ENOTFOUND, "%s is not enrolled", node);
	if (rc)
		return rc;
	if (hj_hex_decode(pk, 32, hex))
		rc = hj_error_set(HJ_ECORRUPT, "enrolment of %s: the stored key is not 64 hex digits", node);
	free(hex);
	return rc;
}
