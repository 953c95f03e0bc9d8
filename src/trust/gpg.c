/* SPDX-License-Identifier: Apache-2.0 */
/* GPG "simple signing" through gpgme, as containers/image's gpgme
 * mechanism: verification imports the trusted keyrings into a temporary
 * GnuPG home (nothing of the user's keyring is trusted), and accepts a
 * message with exactly one good signature by one of the imported keys. */
#include "trust.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gpgme.h>
#include <string.h>
#include <sys/stat.h>

struct trust_gpg {
	gpgme_ctx_t ctx;
	char *home; /* the temporary GnuPG home, removed by trust_gpg_free */
	struct strvec fingerprints;
};

static int gpg_init(struct petra_error **err)
{
	/* gpgme_check_version initialises the library; it is idempotent. */
	if (!gpgme_check_version(NULL))
		return petra_error_set(err, EIO, "gpgme could not be initialised");
	gpgme_error_t e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (e)
		return petra_error_set(err, ENOENT, "GnuPG is not usable: %s", gpgme_strerror(e));
	return 0;
}

static int new_context(const char *home, gpgme_ctx_t *ctx, struct petra_error **err)
{
	gpgme_error_t e = gpgme_new(ctx);
	if (!e)
		e = gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP);
	if (!e && home)
		e = gpgme_ctx_set_engine_info(*ctx, GPGME_PROTOCOL_OpenPGP, NULL, home);
	if (e) {
		if (*ctx)
			gpgme_release(*ctx);
		*ctx = NULL;
		return petra_error_set(err, EIO, "gpgme: %s", gpgme_strerror(e));
	}
	return 0;
}

void trust_gpg_free(struct trust_gpg *gpg)
{
	if (!gpg)
		return;
	if (gpg->ctx)
		gpgme_release(gpg->ctx);
	if (gpg->home) {
		struct petra_error *err = NULL;
		if (fs_remove_tree_at(AT_FDCWD, gpg->home, &err) < 0)
			petra_error_free(err);
		free(gpg->home);
	}
	strvec_clear(&gpg->fingerprints);
	free(gpg);
}

static int import_keys(struct trust_gpg *gpg, const char *what, const void *data, size_t len,
		       struct petra_error **err)
{
	gpgme_data_t in = NULL;
	gpgme_error_t e = gpgme_data_new_from_mem(&in, data, len, 0);
	if (!e)
		e = gpgme_op_import(gpg->ctx, in);
	gpgme_data_release(in);
	if (e)
		return petra_error_set(err, EINVAL, "%s: importing keys: %s", what,
				       gpgme_strerror(e));
	gpgme_import_result_t r = gpgme_op_import_result(gpg->ctx);
	size_t before = gpg->fingerprints.n;
	for (gpgme_import_status_t s = r ? r->imports : NULL; s; s = s->next)
		if (s->result == GPG_ERR_NO_ERROR && s->fpr)
			strvec_push(&gpg->fingerprints, s->fpr);
	if (gpg->fingerprints.n == before)
		return petra_error_set(err, EINVAL, "%s: no OpenPGP key in it", what);
	return 0;
}

int trust_gpg_open(const char *const *keyrings, size_t n, struct trust_gpg **out,
		   struct petra_error **err)
{
	return trust_gpg_open_with_blobs(keyrings, n, NULL, 0, out, err);
}

int trust_gpg_open_with_blobs(const char *const *keyrings, size_t n, const struct trust_blob *blobs,
			      size_t n_blobs, struct trust_gpg **out, struct petra_error **err)
{
	if (gpg_init(err) < 0)
		return -1;
	struct trust_gpg *gpg = xcalloc(1, sizeof(*gpg));
	/* Short: GnuPG puts socket paths (108 bytes at most) under it. */
	char home[] = "/tmp/petra-gpg-XXXXXX";
	if (!mkdtemp(home)) {
		free(gpg);
		return petra_error_set_errno(err, errno, "creating a temporary GnuPG home");
	}
	gpg->home = xstrdup(home);
	if (new_context(gpg->home, &gpg->ctx, err) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		if (fs_read_file_at(AT_FDCWD, keyrings[i], 16 << 20, &data, &len, err) < 0 ||
		    import_keys(gpg, keyrings[i], data, len, err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < n_blobs; i++)
		if (import_keys(gpg, "keyData", blobs[i].data, blobs[i].len, err) < 0)
			goto fail;
	*out = gpg;
	return 0;
fail:
	trust_gpg_free(gpg);
	return -1;
}

int trust_gpg_verify(struct trust_gpg *gpg, const void *message, size_t len, char **content,
		     size_t *content_len, char **fingerprint, struct petra_error **err)
{
	gpgme_data_t sig = NULL, plain = NULL;
	gpgme_error_t e = gpgme_data_new_from_mem(&sig, message, len, 0);
	if (!e)
		e = gpgme_data_new(&plain);
	if (!e)
		e = gpgme_op_verify(gpg->ctx, sig, NULL, plain);
	gpgme_data_release(sig);
	if (e) {
		gpgme_data_release(plain);
		return petra_error_set(err, EINVAL, "not a valid OpenPGP signature: %s",
				       gpgme_strerror(e));
	}
	gpgme_verify_result_t r = gpgme_op_verify_result(gpg->ctx);
	size_t n = 0;
	for (gpgme_signature_t s = r ? r->signatures : NULL; s; s = s->next)
		n++;
	int rc = 0;
	if (n != 1) {
		rc = petra_error_set(err, EINVAL, "%zu OpenPGP signatures, not one", n);
	} else {
		gpgme_signature_t s = r->signatures;
		if (gpgme_err_code(s->status) != GPG_ERR_NO_ERROR ||
		    s->validity == GPGME_VALIDITY_NEVER ||
		    gpgme_err_code(s->validity_reason) != GPG_ERR_NO_ERROR || s->wrong_key_usage)
			rc = petra_error_set(err, EACCES, "OpenPGP signature not valid: %s",
					     gpgme_strerror(s->status));
		else if (!s->fpr)
			rc = petra_error_set(err, EACCES, "OpenPGP signature without a key");
		else
			*fingerprint = xstrdup(s->fpr);
	}
	size_t out_len = 0;
	char *out = gpgme_data_release_and_get_mem(plain, &out_len);
	if (rc == 0) {
		*content = xmalloc(out_len + 1);
		memcpy(*content, out ? out : "", out_len);
		(*content)[out_len] = '\0';
		*content_len = out_len;
	}
	gpgme_free(out);
	return rc;
}

bool trust_gpg_trusts(const struct trust_gpg *gpg, const char *fingerprint)
{
	for (size_t i = 0; i < gpg->fingerprints.n; i++)
		if (!strcasecmp(gpg->fingerprints.v[i], fingerprint))
			return true;
	return false;
}

int trust_gpg_sign(const char *fingerprint, const void *data, size_t len, char **message,
		   size_t *message_len, struct petra_error **err)
{
	if (gpg_init(err) < 0)
		return -1;
	gpgme_ctx_t ctx = NULL;
	if (new_context(NULL, &ctx, err) < 0) /* the user's GnuPG home */
		return -1;
	gpgme_key_t key = NULL;
	gpgme_data_t in = NULL, out = NULL;
	int rc = 0;
	gpgme_error_t e = gpgme_get_key(ctx, fingerprint, &key, 1);
	if (e) {
		rc = petra_error_set(err, ENOENT, "GPG secret key %s: %s", fingerprint,
				     gpgme_strerror(e));
		goto out;
	}
	e = gpgme_signers_add(ctx, key);
	if (!e)
		e = gpgme_data_new_from_mem(&in, data, len, 0);
	if (!e)
		e = gpgme_data_new(&out);
	if (!e)
		e = gpgme_op_sign(ctx, in, out, GPGME_SIG_MODE_NORMAL);
	if (e) {
		rc = petra_error_set(err, EIO, "GPG signing with %s: %s", fingerprint,
				     gpgme_strerror(e));
		goto out;
	}
	size_t n = 0;
	char *mem = gpgme_data_release_and_get_mem(out, &n);
	out = NULL;
	*message = xmalloc(n ? n : 1);
	memcpy(*message, mem, n);
	*message_len = n;
	gpgme_free(mem);
out:
	gpgme_data_release(in);
	gpgme_data_release(out);
	if (key)
		gpgme_key_unref(key);
	gpgme_release(ctx);
	return rc;
}
