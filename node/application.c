/*
 * application.c — check an application's fields and build its op.
 */
#include "application.h"
#include "error.h"
#include "fold.h"
#include "person_seal.h"
#include "idnum.h"
#include "phone.h"

#include <stddef.h>

static int empty(const char *s)
{
	return !s || !s[0];
}

int hj_application_op(hj_json **out, const hj_node *n, const hj_application *a)
{
	static const struct {
		size_t off;
		const char *name;
	} required[] = {
		{offsetof(hj_application, name), "name"},       {offsetof(hj_application, id_number), "ID number"},
		{offsetof(hj_application, phone), "phone"},     {offsetof(hj_application, group), "group"},
		{offsetof(hj_application, channel), "channel"}, {offsetof(hj_application, on), "application date"},
	};
	char idno[19], phone[12], key[65];
	int rc; /* the date is the fold's to judge, like every rule of the op */

	*out = NULL;
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (empty(*(const char *const *)((const char *)a + required[i].off)))
			return hj_error_set(HJ_EINVALID, "%s is required", required[i].name);
	/* The canonical form is what gets signed (and keyed): the fold
	 * accepts nothing else. */
	if ((rc = hj_idnum_normalise(idno, a->id_number, NULL)) || (rc = hj_phone_normalise(phone, a->phone)))
		return rc;
	/* A hub names the person key; a county holds no person secret and
	 * names none: the hub derives it when it opens the seal (fold_key.c). */
	int keyed = hj_node_person_key(n, idno, key);

	/* The personal fields travel sealed to the nodes that hold the record
	 * (person_seal.h); a key, which the hub checks against the number it
	 * opens, stays outside. */
	const char *unit = empty(a->union_id) ? n->union_id : a->union_id;
	hj_json *op = hj_json_new(HJ_JOBJ), *fields = hj_json_new(HJ_JOBJ), *person = NULL;
	if (!op || !fields || hj_json_set_str(fields, "name", a->name) || hj_json_set_str(fields, "id_number", idno) ||
	    hj_json_set_str(fields, "phone", phone) ||
	    hj_json_set_str(fields, "plate", empty(a->plate) ? NULL : a->plate) ||
	    hj_json_set_str(op, "op", "member.apply") || hj_json_set_int(op, "v", HJ_OP_VERSION) ||
	    hj_json_set_str(op, "union", unit) || hj_json_set_str(op, "group", a->group) ||
	    hj_json_set_str(op, "channel", a->channel) ||
	    hj_json_set_str(op, "platform", empty(a->platform) ? NULL : a->platform) ||
	    hj_json_set_str(op, "on", a->on)) {
		hj_json_free(op);
		hj_json_free(fields);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	rc = hj_person_seal(&person, n, keyed ? key : NULL, fields, unit);
	hj_json_free(fields);
	if (rc) {
		hj_json_free(op);
		return rc;
	}
	if (hj_json_set(op, "person", person)) { /* takes person even on failure */
		hj_json_free(op);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	*out = op;
	return 0;
}
