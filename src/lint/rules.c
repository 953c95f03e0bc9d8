/* SPDX-License-Identifier: Apache-2.0 */
/* The rule table: IDs are stable (documented in docs/rules/<ID>.md); a
 * retired rule's ID is never reused. */
#include "internal.h"

#include <string.h>

static const struct lint_rule rules[] = {
    {"PL001", "parse-error", LINT_ERROR, "The Dockerfile does not parse"},

    {"PL101", "relative-workdir", LINT_WARNING, "WORKDIR takes an absolute path"},
    {"PL102", "cd-in-run", LINT_WARNING, "Use WORKDIR instead of cd in RUN"},
    {"PL103", "sudo", LINT_ERROR, "Do not use sudo in RUN: switch users with USER"},
    {"PL104", "untagged-base", LINT_WARNING, "Name a base image with a tag or a digest"},
    {"PL105", "latest-base", LINT_WARNING, "Do not build on the :latest tag"},
    {"PL106", "apt-get-yes", LINT_WARNING, "apt-get install needs -y to run unattended"},
    {"PL107", "apt-get-recommends", LINT_INFO,
     "apt-get install without --no-install-recommends installs more than asked"},
    {"PL108", "apt-lists", LINT_INFO,
     "Remove /var/lib/apt/lists in the RUN that runs apt-get install"},
    {"PL109", "unpinned-packages", LINT_WARNING, "Pin the versions of installed packages"},
    {"PL110", "add-instead-of-copy", LINT_WARNING, "Use COPY, not ADD, for local files"},
    {"PL111", "copy-from-self-or-later", LINT_ERROR,
     "COPY --from must name an earlier stage, not its own or a later one"},
    {"PL112", "duplicate-stage", LINT_ERROR, "Stage names must be unique"},
    {"PL113", "shell-form-cmd", LINT_WARNING, "Write CMD and ENTRYPOINT in exec (JSON) form"},
    {"PL114", "repeated-instruction", LINT_WARNING,
     "Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage takes effect"},
    {"PL115", "maintainer", LINT_WARNING,
     "MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors"},
    {"PL116", "pipefail", LINT_WARNING, "Set -o pipefail before a pipe in RUN"},
    {"PL117", "consecutive-run", LINT_INFO, "Merge consecutive RUN instructions"},
    {"PL118", "invalid-port", LINT_ERROR, "EXPOSE ports are 0 to 65535, /tcp, /udp or /sctp"},
    {"PL119", "label-key", LINT_STYLE,
     "Label keys are lower-case reverse-DNS names outside Docker's namespaces"},
    {"PL120", "label-value", LINT_WARNING, "A label's value must match its type"},
    {"PL121", "missing-label", LINT_WARNING, "The runtime image carries every required label"},

    {"PL201", "no-user", LINT_WARNING, "The runtime stage sets a non-root USER"},
    {"PL202", "root-user", LINT_ERROR, "The runtime stage must not run as root"},
    {"PL203", "user-by-name", LINT_WARNING,
     "USER with a numeric UID, so runtimes can verify non-root"},
    {"PL204", "host-permissions", LINT_WARNING,
     "Files copied into the runtime image get --chmod, not the host's permissions"},
    {"PL205", "owned-by-runtime-user", LINT_ERROR,
     "Files of the runtime image are not owned by the user it runs as"},
    {"PL206", "volume-over-app", LINT_WARNING, "VOLUME must not cover application or system paths"},

    {"PL301", "secret-arg", LINT_WARNING,
     "No secrets in ARG: build arguments stay in the image history"},
    {"PL302", "secret-env", LINT_ERROR, "No secrets in ENV: they stay in the image config"},
    {"PL303", "credential-value", LINT_ERROR,
     "No credentials (keys, tokens, passwords in URLs) written in the Dockerfile"},
    {"PL304", "secret-file", LINT_ERROR,
     "Do not copy secret files (keys, .env, credentials) into an image"},
    {"PL305", "secret-deleted-later", LINT_ERROR,
     "A secret deleted in a later RUN stays in the earlier layer"},
    {"PL306", "use-secret-mount", LINT_WARNING,
     "Give RUN its secrets with --mount=type=secret, not ARG or ENV"},

    {"PL401", "add-remote-url", LINT_WARNING,
     "ADD of a remote URL needs --checksum (or download and verify in RUN)"},
    {"PL402", "pipe-to-shell", LINT_ERROR, "Do not pipe a download into a shell"},
    {"PL403", "package-upgrade", LINT_WARNING,
     "Do not upgrade all packages in a build: rebuild on a patched base"},
    {"PL404", "base-not-approved", LINT_ERROR, "Base images come from the policy's catalog"},
    {"PL405", "base-banned", LINT_ERROR, "The policy bans this base image"},
    {"PL406", "base-not-pinned", LINT_WARNING, "Pin base images by digest"},
    {"PL407", "untrusted-registry", LINT_ERROR, "Images come from trusted registries"},
    {"PL408", "base-rewritten", LINT_INFO,
     "The policy rewrites this base: apply it with petra rebase"},
};

const struct lint_rule *lint_rules(size_t *n)
{
	*n = ARRAY_SIZE(rules);
	return rules;
}

const struct lint_rule *lint_rule_find(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (!strcmp(rules[i].id, id))
			return &rules[i];
	return NULL;
}

size_t lint_rule_index(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (!strcmp(rules[i].id, id))
			return i;
	return (size_t)-1;
}

bool lint_rule_id_valid(const char *id)
{
	if (lint_rule_find(id))
		return true;
	/* ShellCheck's: SC and four digits */
	return strlen(id) == 6 && !strncmp(id, "SC", 2) && strspn(id + 2, "0123456789") == 4;
}

static const char *const severity_names[] = {"none", "style", "info", "warning", "error", "none"};

const char *lint_severity_name(enum lint_severity sev)
{
	return sev <= LINT_NEVER ? severity_names[sev] : "?";
}

int lint_severity_parse(const char *name, bool as_threshold, enum lint_severity *out)
{
	if (!strcmp(name, "none") || !strcmp(name, "off")) {
		*out = as_threshold ? LINT_NEVER : LINT_OFF;
		return 0;
	}
	for (int s = LINT_STYLE; s <= LINT_ERROR; s++) {
		if (!strcmp(name, severity_names[s])) {
			*out = (enum lint_severity)s;
			return 0;
		}
	}
	return -EINVAL;
}
