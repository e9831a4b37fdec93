/*
 * mask.h — how personal data is shown unless the user passes --reveal.
 *
 * PIPL asks that sensitive personal information be shown only as far as
 * the task needs; these functions keep just enough to tell records apart
 * at a glance. They never fail: output is always NUL-terminated, cut at a
 * whole UTF-8 character when `outsz` is short, and odd input is masked
 * more, never less.
 */
#ifndef HJ_MASK_H
#define HJ_MASK_H

#include <stddef.h>

/* "340104199001011234" -> "3401**********1234". Input that is not 18
 * characters keeps only its first and last ASCII character (all masked if
 * 2 characters or fewer) and is cut to 18. `out` holds 19 bytes. */
void hj_mask_idnum(char *out, const char *id);

/* "13812345678" -> "138****5678". Input that is not 11 characters is
 * masked as hj_mask_idnum does odd input, cut to 11. `out` holds 12. */
void hj_mask_phone(char *out, const char *p);

/* Keep the first UTF-8 character (the family name), one '*' per further
 * character: "张三丰" -> "张**", "Li Lei" -> "L*****". */
void hj_mask_name(char *out, size_t outsz, const char *utf8name);

/* Keep the first two UTF-8 characters and the last, '*' for the rest:
 * "皖A12345" -> "皖A****5". Plates of 3 characters or fewer keep only the
 * first. */
void hj_mask_plate(char *out, size_t outsz, const char *plate);

#endif
