/* SPDX-License-Identifier: Apache-2.0 */
/* The kind table: which step kind carries out each instruction. The engine
 * finds kinds here, never by name. */
#include "step.h"

const struct builder_step_kind *builder_step_kind_for(enum dockerfile_kind kind)
{
	switch (kind) {
	case DOCKERFILE_RUN:
		return &builder_kind_run;
	case DOCKERFILE_COPY:
	case DOCKERFILE_ADD:
		return &builder_kind_copy;
	case DOCKERFILE_WORKDIR:
	case DOCKERFILE_VOLUME:
		return &builder_kind_dirs;
	default:
		return &builder_kind_config;
	}
}
