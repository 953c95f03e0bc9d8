#!/usr/bin/env bats
# Foreign (Docker) and non-distributable (OCI) layers stay references to
# their urls: a pull does not fetch them and keeps the manifest as it is,
# a push does not send them, fsck accepts their absence, and run/unpack
# say which layer they lack. The images are put into the loopback registry
# with curl, the foreign layer's blob never uploaded.

load helpers
load registry-helpers

setup() {
	petra_setup_store
	start_registry_with
	# distribution refuses foreign urls unless its configuration allows
	# them: restart it so.
	kill "$REG_PID"
	wait "$REG_PID" 2>/dev/null || true
	cat >>"$BATS_TEST_TMPDIR/reg/config.yml" <<'EOF'
validation:
  manifests:
    urls:
      allow:
        - ^http://127\.0\.0\.1[:/]
EOF
	docker-registry serve "$BATS_TEST_TMPDIR/reg/config.yml" >>"$REG_LOG" 2>&1 &
	REG_PID=$!
	wait_port "${REG##*:}" "$REG_PID"
}

teardown() {
	registry_teardown
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# put_blob REPO FILE: a monolithic upload with curl.
put_blob() {
	local repo=$1 file=$2 location
	location=$(curl -fsS -X POST -D - -o /dev/null "http://$REG/v2/$repo/blobs/uploads/" |
		tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
	curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
		"$location&digest=sha256:$(sha "$file")" >/dev/null
}

# put_foreign_image REPO:TAG MANIFEST-TYPE FOREIGN-TYPE CONFIG-TYPE BASE-TYPE:
# busybox as a real layer, then a foreign one whose blob stays here
# ($D/foreign.tar.gz). Sets D, FOREIGN, MANIFEST_DIGEST.
put_foreign_image() {
	local ref=$1 mt=$2 foreign_mt=$3 config_mt=$4 base_mt=$5 repo=${1%%:*} tag=${1#*:}
	D="$BATS_TEST_TMPDIR/fgn-$repo"
	mkdir -p "$D/bb" "$D/extra/opt"
	make_busybox_rootfs "$D/bb"
	echo "from elsewhere" >"$D/extra/opt/foreign.txt"
	tar -C "$D/bb" -czf "$D/base.tar.gz" --owner=0 --group=0 .
	tar -C "$D/extra" -czf "$D/foreign.tar.gz" --owner=0 --group=0 .
	local arch
	arch=$(dpkg --print-architecture)
	jq -nc --arg a "$arch" --arg d1 "sha256:$(gunzip -c "$D/base.tar.gz" | sha256sum | cut -d' ' -f1)" \
		--arg d2 "sha256:$(gunzip -c "$D/foreign.tar.gz" | sha256sum | cut -d' ' -f1)" \
		'{architecture: $a, os: "linux", config: {Cmd: ["/bin/sh"], User: "65534"},
		  rootfs: {type: "layers", diff_ids: [$d1, $d2]}}' >"$D/config.json"
	put_blob "$repo" "$D/config.json"
	put_blob "$repo" "$D/base.tar.gz"
	FOREIGN="sha256:$(sha "$D/foreign.tar.gz")"
	jq -nc --arg mt "$mt" --arg cmt "$config_mt" --arg bmt "$base_mt" --arg fmt "$foreign_mt" \
		--arg c "sha256:$(sha "$D/config.json")" --argjson cs "$(stat -c %s "$D/config.json")" \
		--arg b "sha256:$(sha "$D/base.tar.gz")" --argjson bs "$(stat -c %s "$D/base.tar.gz")" \
		--arg f "$FOREIGN" --argjson fs "$(stat -c %s "$D/foreign.tar.gz")" \
		'{schemaVersion: 2, mediaType: $mt,
		  config: {mediaType: $cmt, digest: $c, size: $cs},
		  layers: [{mediaType: $bmt, digest: $b, size: $bs},
			   {mediaType: $fmt, digest: $f, size: $fs,
			    urls: ["http://127.0.0.1:9/foreign.tar.gz"]}]}' >"$D/manifest.json"
	curl -fsS -X PUT -H "Content-Type: $mt" --data-binary "@$D/manifest.json" \
		"http://$REG/v2/$repo/manifests/$tag"
	MANIFEST_DIGEST="sha256:$(sha "$D/manifest.json")"
}

check_foreign_image() {
	local ref=$1
	run petra pull --tls-verify=false "$REG/$ref"
	echo "$output"
	[ "$status" -eq 0 ]
	# Not fetched: the registry never had it and nobody asked for it.
	! grep -q "GET /v2/[^ ]*/blobs/$FOREIGN" "$REG_LOG"
	[ ! -e "$PETRA_ROOT/blobs/sha256/${FOREIGN#sha256:}" ]
	# The manifest as it was, urls and all.
	[ "$(petra images --format json | jq -r --arg n "$REG/${ref%%:*}" '.[] | select(.name == $n) | .digest')" = "$MANIFEST_DIGEST" ]
	petra inspect --manifest "$REG/$ref" | jq -e --arg f "$FOREIGN" \
		'.layers[1] | select(.digest == $f) | .urls[0] == "http://127.0.0.1:9/foreign.tar.gz"'
	run petra fsck
	echo "$output"
	[ "$status" -eq 0 ]
	# Unpack and run name the layer they cannot have.
	run petra unpack "$REG/$ref" "$BATS_TEST_TMPDIR/out"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer $FOREIGN is a foreign (non-distributable) layer and its blob is not in the store"* ]]
	run petra run --rm "$REG/$ref" echo hi
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer $FOREIGN is a foreign (non-distributable) layer and its blob is not in the store"* ]]
	[[ "$output" != *hi ]]
	# Pushed elsewhere without it: the registry is never asked for it,
	# and skopeo reads the same manifest back.
	local n
	n=$(wc -l <"$REG_LOG")
	run petra push --tls-verify=false "$REG/$ref" "$REG/copy:1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$MANIFEST_DIGEST" ]
	! tail -n +"$((n + 1))" "$REG_LOG" | grep -q "${FOREIGN#sha256:}"
	skopeo inspect --raw --tls-verify=false "docker://$REG/copy:1" >"$BATS_TEST_TMPDIR/copied.json"
	cmp "$BATS_TEST_TMPDIR/copied.json" "$D/manifest.json"
}

@test "a Docker foreign layer: not pulled, not pushed, fsck clean, run and unpack name it" {
	put_foreign_image fgn:1 application/vnd.docker.distribution.manifest.v2+json \
		application/vnd.docker.image.rootfs.foreign.diff.tar.gzip \
		application/vnd.docker.container.image.v1+json \
		application/vnd.docker.image.rootfs.diff.tar.gzip
	check_foreign_image fgn:1
}

@test "an OCI non-distributable layer is left as a reference the same way" {
	put_foreign_image nd:1 application/vnd.oci.image.manifest.v1+json \
		application/vnd.oci.image.layer.nondistributable.v1.tar+gzip \
		application/vnd.oci.image.config.v1+json \
		application/vnd.oci.image.layer.v1.tar+gzip
	check_foreign_image nd:1
}
