/*
 * person_key.c — derive a person key (person_key.h).
 */
#include "person_key.h"
#include "hex.h"

#include <sodium.h>
#include <string.h>

void hj_person_key_derive(char out[65], const uint8_t secret[32], const char *idnum_norm)
{
	uint8_t h[32];
	crypto_generichash(h, sizeof h, (const uint8_t *)idnum_norm, strlen(idnum_norm), secret, 32);
	hj_hex_encode(out, h, 32);
}
