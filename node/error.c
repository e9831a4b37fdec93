/*
 * error.c — the thread-local "last error" behind hj_error_set.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[1024];
static _Thread_local int last_code;

int hj_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof last_msg, fmt, ap);
	va_end(ap);
	last_code = code;
	return code;
}

int hj_error_wrap(int code, const char *fmt, ...)
{
	char prefix[256], old[sizeof last_msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, last_msg, sizeof old);
	/* Truncation is fine here: the message is for humans. */
	size_t n = strlen(prefix);
	if (n >= sizeof last_msg)
		n = sizeof last_msg - 1;
	memcpy(last_msg, prefix, n);
	size_t rest = strnlen(old, sizeof old - 1);
	if (rest > sizeof last_msg - 1 - n)
		rest = sizeof last_msg - 1 - n;
	memcpy(last_msg + n, old, rest);
	last_msg[n + rest] = '\0';
	last_code = code;
	return code;
}

const char *hj_error_last(void)
{
	return last_msg[0] ? last_msg : "unknown error";
}

int hj_error_code(void)
{
	return last_code;
}

void hj_error_clear(void)
{
	last_msg[0] = '\0';
	last_code = 0;
}

const char *hj_error_name(int code)
{
	switch (code) {
	case HJ_OK: return "OK";
	case HJ_ERROR: return "ERROR";
	case HJ_ENOTFOUND: return "ENOTFOUND";
	case HJ_EEXISTS: return "EEXISTS";
	case HJ_EBADSIG: return "EBADSIG";
	case HJ_ECORRUPT: return "ECORRUPT";
	case HJ_ECONFLICT: return "ECONFLICT";
	case HJ_EINVALID: return "EINVALID";
	case HJ_ENOMEM: return "ENOMEM";
	case HJ_EVERSION: return "EVERSION";
	case HJ_ETOOBIG: return "ETOOBIG";
	case HJ_ENET: return "ENET";
	case HJ_EPERM: return "EPERM";
	default: return "E?";
	}
}
