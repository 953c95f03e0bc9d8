/* SPDX-License-Identifier: Apache-2.0 */
/* A cmocka fixture: a temporary directory with a store in it, open for
 * writing. Use store_fixture_setup/teardown with
 * cmocka_unit_test_setup_teardown; *state is a struct store_fixture. */
#ifndef PETRA_STORE_FIXTURE_H
#define PETRA_STORE_FIXTURE_H

#include "testutil.h"

#include "oci/oci.h"

struct store_fixture {
	char *dir;       /* the temporary directory */
	char *store_dir; /* dir/store */
	struct petra_store *store;
};

static inline int store_fixture_setup(void **state)
{
	struct store_fixture *f = xcalloc(1, sizeof(*f));
	f->dir = test_tmpdir();
	f->store_dir = path_join(f->dir, "store");
	struct petra_error *err = NULL;
	assert_int_equal(
	    petra_store_open(f->store_dir, PETRA_STORE_CREATE | PETRA_STORE_WRITE, &f->store, &err),
	    0);
	*state = f;
	return 0;
}

static inline int store_fixture_teardown(void **state)
{
	struct store_fixture *f = *state;
	petra_store_close(f->store);
	free(f->store_dir);
	test_rmtree(f->dir);
	free(f);
	return 0;
}

#endif
