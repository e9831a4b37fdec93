/*
 * person_key.h — the person key: what identifies a person across the
 * province without their ID number, so duplicates are found by counties
 * that never see each other's rows. One derivation, used by the command
 * line (before signing) and by the fold (the hub's check).
 */
#ifndef HJ_PERSON_KEY_H
#define HJ_PERSON_KEY_H

#include <stdint.h>

/* out = lower-case hex of BLAKE2b-256 keyed with the province's 32-byte
 * person secret, over the ID number in normal form (idnum.h). */
void hj_person_key_derive(char out[65], const uint8_t secret[32], const char *idnum_norm);

#endif
