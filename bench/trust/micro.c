/* SPDX-License-Identifier: Apache-2.0 */
/* In-process timings of the gate and of verification, without process
 * start-up: `micro STORE POLICY IMAGE PUBKEY N` prints medians in µs of
 * trust_gate_check uncached (cache removed before each call), cached, and
 * trust_verify_signatures over the image's signatures. */
#include "policy/policy.h"
#include "trust/trust.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

static void die(struct petra_error *err)
{
	fprintf(stderr, "micro: %s\n", err ? err->message : "failed");
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 6)
		return 2;
	int n = atoi(argv[5]);
	struct petra_error *err = NULL;
	struct petra_store *store;
	struct petra_policy *policy;
	if (petra_store_open(argv[1], PETRA_STORE_WRITE, &store, &err) < 0 ||
	    petra_policy_load(AT_FDCWD, argv[2], &policy, &err) < 0)
		die(err);
	double *t = calloc((size_t)n, sizeof(double));
	_cleanup_free_ char *cache = path_join(argv[1], "trust-cache");
	for (int i = 0; i < n; i++) {
		fs_remove_tree_at(AT_FDCWD, cache, NULL);
		struct trust_gate_result r;
		double t0 = now_us();
		if (trust_gate_check(store, argv[3], TRUST_PURPOSE_RUN, policy, &r, &err) < 0)
			die(err);
		t[i] = now_us() - t0;
		if (!r.allowed)
			die(NULL);
		trust_gate_result_release(&r);
	}
	printf("gate uncached: %.1f us\n", median(t, n));
	for (int i = 0; i < n; i++) {
		struct trust_gate_result r;
		double t0 = now_us();
		if (trust_gate_check(store, argv[3], TRUST_PURPOSE_RUN, policy, &r, &err) < 0)
			die(err);
		t[i] = now_us() - t0;
		if (!r.allowed || !r.cached)
			die(NULL);
		trust_gate_result_release(&r);
	}
	printf("gate cached: %.1f us\n", median(t, n));

	struct trust_key *key;
	struct oci_descriptor desc;
	char *name = NULL;
	if (trust_public_key_load(argv[4], &key, &err) < 0 ||
	    petra_store_resolve(store, argv[3], &desc, &name, &err) < 0)
		die(err);
	struct oci_ref ref;
	if (oci_ref_parse(name, &ref, &err) < 0)
		die(err);
	size_t n_sigs = 0;
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		struct trust_signatures sigs = {0};
		if (trust_store_signatures(store, ref.name, desc.digest, &sigs, &err) < 0)
			die(err);
		struct trust_check check = {.manifest_digest = desc.digest,
					    .intended = name,
					    .keys = &key,
					    .n_keys = 1};
		struct trust_verdict v;
		if (trust_verify_signatures(&check, &sigs, &v, &err) < 0 || v.failure)
			die(err);
		t[i] = now_us() - t0;
		n_sigs = sigs.n;
		trust_verdict_release(&v);
		trust_signatures_release(&sigs);
	}
	printf("verify %zu signatures (read + verify): %.1f us\n", n_sigs, median(t, n));
	return 0;
}
