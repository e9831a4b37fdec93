/*
 * killpoint.c — the HUIJI_KILL_AT test hook (killpoint.h): which point is
 * armed, how many hits remain, and the SIGKILL. SIGKILL rather than
 * exit() or abort(): nothing may run on the way out (no atexit handler,
 * no SQLite or libgit2 cleanup), exactly as when power is cut.
 */
#include "killpoint.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_MAX_LEN 63

static int armed = -1;            /* -1: environment not read yet; 0: off */
static char point[NAME_MAX_LEN + 1];
static unsigned long remaining;   /* hits left before the kill */

void hj_killpoint_arm(const char *spec)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;
	size_t len = spec ? (colon ? (size_t)(colon - spec) : strlen(spec)) : 0;
	armed = 0;
	if (!len || len > NAME_MAX_LEN)
		return; /* malformed is off: a test hook never breaks a real run */
	memcpy(point, spec, len);
	point[len] = 0;
	remaining = colon ? strtoul(colon + 1, NULL, 10) : 1;
	armed = remaining > 0;
}

void hj_killpoint(const char *name)
{
	if (armed < 0)
		hj_killpoint_arm(getenv("HUIJI_KILL_AT"));
	if (!armed || strcmp(name, point) != 0 || --remaining > 0)
		return;
	kill(getpid(), SIGKILL);
	for (;;)
		pause(); /* SIGKILL is delivered before kill() returns; never reached */
}
