/* SPDX-License-Identifier: Apache-2.0 */
/* context internals shared by its files; not part of the API. */
#ifndef PETRA_CONTEXT_INTERNAL_H
#define PETRA_CONTEXT_INTERNAL_H

#include "context.h"

/* Go's path/filepath.Clean for '/'-separated paths ("" is "."). Caller
 * frees. */
char *context_go_clean(const char *path);

#endif
