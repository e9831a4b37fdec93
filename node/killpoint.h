/*
 * killpoint.h — named crash points for the crash tests: a TEST HOOK.
 *
 * A process started with HUIJI_KILL_AT=<name>[:<n>] SIGKILLs itself the
 * n-th time (default 1) it reaches hj_killpoint("<name>"), so a test can
 * crash it exactly in a narrow window (after a COMMIT and before the git
 * refs that follow it, between two ref writes) instead of hoping a random
 * kill lands there. The variable is read once, at the first call; without
 * it every call is a no-op costing one branch. Points are placed in node/
 * and sync/ (the sequencer, the outbox) and usable by any command.
 */
#ifndef HJ_KILLPOINT_H
#define HJ_KILLPOINT_H

/* Names in use (grep for hj_killpoint to find each one's place):
 *   hub-before-commit  the round's entry signed, before its COMMIT
 *   hub-committed      after the round's COMMIT, before any sequenced ref
 *   hub-tip-written    after each refs/huiji/sequenced/<node> write
 *   hub-inbox-written  after each batch appended to a refs/huiji/inbox/<node>
 *   outbox-appended    after each batch of an outbox flush reached git
 *                      (the hub's own feed, or a county's) */

/* SIGKILL this process if `name` is the armed point and this is its n-th
 * hit; return otherwise. Never fails. */
void hj_killpoint(const char *name);

/* Arm `spec` ("<name>[:<n>]", NULL or "" to disarm) in place of the
 * environment, and restart the count: for an in-process test that forks
 * a child to crash (the child inherits whatever the parent read). */
void hj_killpoint_arm(const char *spec);

#endif
