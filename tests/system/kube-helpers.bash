# Helpers for the Kubernetes and Compose tests: the API schema check (the
# kubernetes-models npm package, installed once into a cache directory),
# the strict field check (Debian's python3-kubernetes models), and YAML to
# JSON for jq.

load helpers

KUBE_TOOLS="$BATS_TEST_DIRNAME/kube"
KUBE_MODELS_VERSION=5.1.0
: "${PETRA_TEST_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/petra-tests}"

# The kubernetes-models package directory, installed with npm on first use
# (one install per machine and version, under a lock: test files may run
# side by side).
kube_models_dir() {
	local dir="$PETRA_TEST_CACHE/kubernetes-models-$KUBE_MODELS_VERSION"
	mkdir -p "$PETRA_TEST_CACHE"
	(
		flock 9
		if [ ! -f "$dir/node_modules/kubernetes-models/package.json" ]; then
			rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" &&
				npm install --prefix "$dir.tmp" --no-audit --no-fund --silent \
					"kubernetes-models@$KUBE_MODELS_VERSION" >&2 &&
				rm -rf "$dir" && mv "$dir.tmp" "$dir"
		fi
	) 9>"$PETRA_TEST_CACHE/kubernetes-models.lock" || return 1
	echo "$dir/node_modules/kubernetes-models"
}

# yaml_to_json FILE: the YAML documents of FILE as one JSON array.
yaml_to_json() {
	/usr/bin/python3 -c 'import json, sys, yaml
print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))' "$1"
}

# kube_schema_check FILE: every object of FILE valid against the API schema.
kube_schema_check() {
	local models
	models=$(kube_models_dir) || return 1
	yaml_to_json "$1" | node "$KUBE_TOOLS/schema-check.mjs" "$models"
}

# kube_strict_check FILE...: no field the API does not know.
kube_strict_check() {
	/usr/bin/python3 "$KUBE_TOOLS/strict-fields.py" "$@"
}
