/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the lint config loader (.petra.yaml) and lint a fixed Dockerfile
 * with what loads. */
#include "lint/lint.h"

#include <string.h>

static const char dockerfile[] = "FROM debian:12 AS build\n"
				 "RUN cd /src && apt-get install curl | tee log\n"
				 "FROM registry.example/base/app:1\n"
				 "LABEL org.example.version=1.2 Bad_Key=x\n"
				 "COPY --from=build --chown=app /out /app\n"
				 "USER app\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lint_config c;
	struct petra_error *err = NULL;
	if (lint_config_parse((const char *)data, size, "fuzz.yaml", &c, &err) < 0) {
		if (!err || strncmp(err->message, "lint config: fuzz.yaml", 22))
			__builtin_trap();
		petra_error_free(err);
		return 0;
	}
	struct lint_options opts = {.config = &c};
	struct lint_linter *l = NULL;
	if (lint_new(&opts, &l, &err) < 0)
		__builtin_trap();
	struct lint_result r;
	if (lint_buffer(l, dockerfile, sizeof(dockerfile) - 1, "Dockerfile", &r, &err) < 0)
		__builtin_trap();
	for (size_t i = 0; i < r.n_findings; i++)
		if (r.findings[i].severity == LINT_OFF)
			__builtin_trap(); /* switched-off rules report nothing */
	lint_result_release(&r);
	lint_free(l);
	lint_config_release(&c);
	return 0;
}
