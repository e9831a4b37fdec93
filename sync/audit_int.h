/*
 * audit_int.h — what audit.c and audit_import.c share: recording a
 * finding, and copying a local repository object by object.
 */
#ifndef HJ_AUDIT_INT_H
#define HJ_AUDIT_INT_H

#include "gitrepo.h"

/* audit.h's report, by name only (audit.h includes nothing of this). */
struct hj_audit_report;

/* Add one finding to rep (silently dropped past HJ_AUDIT_MAX_PROBLEMS). */
void hj_audit_problem(struct hj_audit_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy the local repository at `src` into `dst`: every sound object (a
 * damaged one costs only itself, see audit_import.c) and the refs under
 * refs/huiji/. Damage is a finding in rep; the return is an error only
 * when the copy could not be made at all. */
int hj_audit_import_local(struct hj_audit_report *rep, const char *src, hj_gitrepo *dst);

#endif
