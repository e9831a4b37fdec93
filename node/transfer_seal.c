/*
 * transfer_seal.c — sealing the person inside a transfer's snapshot
 * (transfer_seal.h). A fresh seal of the person's current fields, rather
 * than a re-wrap of the seal the registry row came from: a person's fields
 * are spread over the application's seal and every update's, and only the
 * holder (or the hub) has them whole.
 */
#include "transfer_seal.h"
#include "error.h"
#include "fold.h"
#include "person_seal.h"

#include <string.h>

static int copy_field(hj_json *to, const hj_json *from, const char *key)
{
	const char *v = hj_json_get_str(from, key);
	return v && hj_json_set_str(to, key, v) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
}

int hj_transfer_snapshot_sealed(hj_json **out, const hj_node *n, const char *member_id, const char *to)
{
	return hj_transfer_snapshot_sealed_to(out, n, member_id, to, NULL);
}

int hj_transfer_snapshot_sealed_to(hj_json **out, const hj_node *n, const char *member_id, const char *to,
				   const char *province)
{
	static const char *const fields[] = {"name", "id_number", "phone", "plate"};
	hj_json *snap = NULL, *plain = NULL, *person = NULL;
	*out = NULL;
	int rc = hj_fold_transfer_snapshot(&snap, n->db, member_id);
	if (rc)
		return rc;
	const hj_json *held = hj_json_get(snap, "person");
	const char *name = hj_json_get_str(held, "name");
	/* A shut row (person_seal.h): the record is held, its person is not
	 * known here, so there is nothing to show the other side. */
	if (!name || !name[0]) {
		rc = hj_error_set(HJ_EINVALID, "the personal fields of %s are sealed and this node may not open them; "
				  "the hub can move this record", member_id);
		goto done;
	}
	plain = hj_json_new(HJ_JOBJ);
	person = hj_json_new(HJ_JOBJ);
	/* "seal": the commitment the registry row came from, so a node that
	 * builds the row from this snapshot builds the hub's row. */
	/* "key" only from a hub: a county's may still be provisional, and the
	 * hub knows the record's (fold_key.c). */
	if (!plain || !person || (n->person_secret && hj_json_set_str(person, "key", hj_json_get_str(held, "key"))) ||
	    hj_json_set_str(person, "seal", hj_json_get_str(held, "seal"))) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; !rc && i < sizeof fields / sizeof *fields; i++)
		rc = copy_field(plain, held, fields[i]);
	/* Across provinces `to` is the peer's union: its nodes are not known
	 * here; the peer's hub opens it and seals it afresh for them. */
	const char *const orgs[] = {hj_json_get_str(snap, "union"), province ? NULL : to};
	if (rc || (rc = hj_person_seal_set_peer(person, n, plain, orgs, 2, province)))
		goto done;
	rc = hj_json_set(snap, "person", person) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
	person = NULL; /* taken, even on failure */
	if (!rc) {
		*out = snap;
		snap = NULL;
	}
done:
	hj_json_free(plain);
	hj_json_free(person);
	hj_json_free(snap);
	return rc;
}
