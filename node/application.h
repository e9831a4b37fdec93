/*
 * application.h — a membership application as a clerk or a platform's
 * list gives it, turned into a member.apply op: fields checked and
 * normalised (ID number by hj_idnum_normalise: spaces, full-width digits,
 * upper-case X, 15 digits upgraded to 18; phone 11 digits), sealed, and
 * keyed by the person key where this node holds the person secret (a hub;
 * a county's the hub keys). Shared by `member apply` and
 * `import platform`, so both build exactly the same op.
 */
#ifndef HJ_APPLICATION_H
#define HJ_APPLICATION_H

#include "json.h"
#include "node.h"

typedef struct hj_application {
	const char *name;      /* required */
	const char *id_number; /* required, GB 11643 */
	const char *phone;     /* required, mainland mobile */
	const char *group;     /* required, worker_group code */
	const char *channel;   /* required, channel code */
	const char *on;        /* required, YYYY-MM-DD */
	const char *platform;  /* optional */
	const char *plate;     /* optional */
	const char *union_id;  /* optional: default the node's union */
} hj_application;

/* CONSTRUCTOR: *out freed with hj_json_free. HJ_EINVALID names the field
 * and the reason, never the value (personal data stays out of messages). */
int hj_application_op(hj_json **out, const hj_node *n, const hj_application *a);

#endif
