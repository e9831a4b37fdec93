/*
 * buf.c — growable byte buffer with a sticky allocation error.
 */
#include "buf.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hj_buf_grow(hj_buf *b, size_t extra)
{
	if (b->rc)
		return b->rc;
	if (extra > SIZE_MAX / 2 - b->len - 1) {
		b->rc = HJ_ENOMEM;
		return b->rc;
	}
	size_t need = b->len + extra + 1; /* +1: keep a NUL after the data */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p) {
		b->rc = HJ_ENOMEM;
		return b->rc;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void hj_buf_put(hj_buf *b, const void *p, size_t n)
{
	if (hj_buf_grow(b, n))
		return;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void hj_buf_put_u8(hj_buf *b, uint8_t v)
{
	hj_buf_put(b, &v, 1);
}

void hj_buf_put_u32le(hj_buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			(uint8_t)(v >> 24)};
	hj_buf_put(b, p, 4);
}

void hj_buf_put_u64le(hj_buf *b, uint64_t v)
{
	hj_buf_put_u32le(b, (uint32_t)v);
	hj_buf_put_u32le(b, (uint32_t)(v >> 32));
}

void hj_buf_puts(hj_buf *b, const char *s)
{
	hj_buf_put(b, s, strlen(s));
}

void hj_buf_printf(hj_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || hj_buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void hj_buf_reset(hj_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

uint8_t *hj_buf_detach(hj_buf *b, size_t *len_out)
{
	uint8_t *p = b->len ? b->data : NULL;
	if (len_out)
		*len_out = b->len;
	if (!p)
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void hj_buf_free(hj_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->rc = 0;
}
