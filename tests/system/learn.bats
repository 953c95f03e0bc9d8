#!/usr/bin/env bats
# petra run --learn: the writable paths a service needs, found by running
# it, saved into the image, and then the only writable places.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	runtime_setup_file
	import_with_config svc:1 "$BATS_FILE_TMPDIR/rootfs" --config.user 65534 \
		--config.cmd /bin/pidfile-service
	import_with_config httpd:1 "$BATS_FILE_TMPDIR/rootfs" --config.user 65534 \
		--config.cmd /bin/sh
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

@test "a service that writes a pid file fails on a read-only root" {
	run petra run --rm svc:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"/run/app/service.pid: Read-only file system"* ]]
}

@test "--learn finds the directories a pid-file service writes, and --save makes it run read-only" {
	run petra run --rm --learn --save svc:learned svc:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"service ok"* ]]
	[[ "$output" == *"the container wrote into 2 directories:"* ]]
	[[ "$output" =~ /run/app\ +[0-9.]+B\ used\ +\(tmpfs\ size\ [0-9.]+MB,\ mode\ 0755,\ uid\ 65534\) ]]
	[[ "$output" =~ /var/log/app\ +[0-9.]+B\ used ]]
	[[ "$output" == *"petra: saved svc:learned (sha256:"* ]]
	# The label is in the new image's config; the layers are the same.
	local label
	label=$(petra inspect svc:learned | jq -r '.[0].config.config.Labels["org.petra.writable-paths"]')
	[ "$(echo "$label" | jq -r '[.[].path] | join(",")')" = "/run/app,/var/log/app" ]
	[ "$(echo "$label" | jq -r '.[0].uid')" = "65534" ]
	# /run's runtime state is tmpfs-only (medium: Memory in Kubernetes); logs are not.
	[ "$(echo "$label" | jq -c '[.[] | .memory // false]')" = '[true,false]' ]
	[ "$(petra inspect svc:learned | jq -c '[.[0].manifest.layers[].digest]')" = \
		"$(petra inspect svc:1 | jq -c '[.[0].manifest.layers[].digest]')" ]
	[ "$(petra inspect svc:learned | jq -r '.[0].config.history[-1].created_by')" = \
		"petra run --learn --save" ]
	# The saved image now runs on a read-only root...
	run petra run --rm svc:learned
	[ "$status" -eq 0 ]
	[ "$output" = "service ok" ]
	# ...where everything else stays read-only.
	run petra run --rm svc:learned sh -c 'touch /etc/x /tmp/x /run/x'
	[ "$status" -ne 0 ]
	[ "$(echo "$output" | grep -c 'Read-only file system')" -eq 3 ]
}

@test "--learn only reports what was written, minimal and nested writes folded" {
	run petra run --rm --learn --user 0 bb:root sh -c '
		mkdir -p /var/lib/counter/a/b && echo 1 >/var/lib/counter/a/b/c
		echo x >/var/lib/counter/top
		echo y >/run/app/pid
		cat /etc/passwd >/dev/null'
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote into 2 directories:"* ]]
	[[ "$output" =~ /run/app\  ]]
	[[ "$output" =~ /var/lib/counter\  ]]
	[[ "$output" != *"/var/lib/counter/a"* ]]
	[[ "$output" != *"/etc"* ]]
	# Changing an image file cannot be fixed by a tmpfs: it is a note.
	run petra run --rm --learn --user 0 bb:root sh -c 'echo more >>/etc/group'
	[[ "$output" == *"wrote into 0 directories"* ]]
	[[ "$output" == *"petra: note: the container changes /etc/group, which is part of the image"* ]]
	# Learning leaves no mount behind.
	! grep -q "$PETRA_RUN_DIR" /proc/self/mountinfo
}

@test "--learn finds what a busybox httpd with a CGI writes, and the saved image serves read-only" {
	local port out="$BATS_TEST_TMPDIR/learn.out"
	port=$(free_port)
	# httpd as PID 1 would ignore SIGTERM: a shell passes it on.
	local cmd="trap 'kill \$pid; wait \$pid; exit 0' TERM; httpd -f -p 127.0.0.1:$port -h /www & pid=\$!; wait \$pid"
	"$PETRA" run --learn --save httpd:learned --network host httpd:1 sh -c "$cmd" 2>"$out" &
	local pid=$!
	local i
	wait_for_http "http://127.0.0.1:$port/index.html"
	[ "$(curl -fsS "http://127.0.0.1:$port/cgi-bin/count")" = "1" ]
	[ "$(curl -fsS "http://127.0.0.1:$port/cgi-bin/count")" = "2" ]
	kill -TERM "$pid"
	wait "$pid"
	cat "$out"
	grep -q "wrote into 1 directory:" "$out"
	grep -Eq "^  /var/lib/counter +2B used" "$out"
	# On the plain image the counter cannot be written...
	port=$(free_port)
	petra run -d --name plain --network host httpd:1 httpd -f -p "127.0.0.1:$port" -h /www >/dev/null
	wait_for_http "http://127.0.0.1:$port/index.html"
	[ "$(curl -sS "http://127.0.0.1:$port/cgi-bin/count")" = "1" ]
	[ "$(curl -sS "http://127.0.0.1:$port/cgi-bin/count")" = "1" ]
	petra rm -f plain
	# ...on the learned one it counts, and the root stays read-only.
	port=$(free_port)
	petra run -d --name learned --network host httpd:learned httpd -f -p "127.0.0.1:$port" -h /www >/dev/null
	wait_for_http "http://127.0.0.1:$port/index.html"
	[ "$(curl -fsS "http://127.0.0.1:$port/cgi-bin/count")" = "1" ]
	[ "$(curl -fsS "http://127.0.0.1:$port/cgi-bin/count")" = "2" ]
	run petra exec learned sh -c 'touch /www/x'
	[[ "$output" == *"Read-only file system"* ]]
	run petra diff learned
	[ "$output" = "A /var/lib/counter/hits" ]
}

@test "--learn cannot be steered by the workload: modes from the image, no tmpfs over the image's files" {
	run petra run --rm --learn --save steered:1 --user 0 bb:root sh -c '
		chmod 4777 /etc; touch /etc/planted
		mkdir -p /bin/x/y; touch /bin/x/y/f
		chown 1000 /var/lib/counter; chmod 4777 /var/lib/counter; echo 1 >/var/lib/counter/hits'
	[ "$status" -eq 0 ]
	# The image's /var/lib/counter (0755, 65534), not what the container made of it.
	[[ "$output" =~ /var/lib/counter\ +[0-9.]+B\ used\ +\(tmpfs\ size\ [0-9.]+MB,\ mode\ 0755,\ uid\ 65534\) ]]
	# /etc and /bin hold the image's files: not proposed, a note says why.
	[[ "$output" == *"petra: note: the container writes /etc/planted into /etc, which holds the image's files"* ]]
	[[ "$output" == *"petra: note: the container changes the mode or owner of /etc"* ]]
	# A new directory of its own is proposed, with a warning below /bin.
	[[ "$output" =~ /bin/x\ +[0-9.]+B\ used\ +\(tmpfs\ size\ [0-9.]+MB,\ mode\ 0755,\ uid\ 0\) ]]
	[[ "$output" == *"petra: note: the container writes into /bin/x, below the system directory /bin"* ]]
	local label
	label=$(petra inspect steered:1 | jq -r '.[0].config.config.Labels["org.petra.writable-paths"]')
	[ "$(echo "$label" | jq -r '[.[].path] | join(",")')" = "/bin/x,/var/lib/counter" ]
	[ "$(echo "$label" | jq -r '[.[].mode] | join(",")')" = "0755,0755" ]
	# The saved image still has its /bin and /etc.
	run petra run --rm steered:1 sh -c 'ls /bin/busybox /etc/passwd; ls -A /bin/x'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/bin/busybox" ]
	[ "${lines[1]}" = "/etc/passwd" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "--learn's tmpfs never shows in the host's mount table, even when petra is killed" {
	local out="$BATS_TEST_TMPDIR/out"
	"$PETRA" run --learn --name learner bb:user sh -c 'echo ready; exec sleep 60' >"$out" 2>&1 &
	local petra_pid=$! pid
	wait_for_file "$out"
	local while_running=0 after_kill=0
	grep -q "$PETRA_RUN_DIR" /proc/self/mountinfo && while_running=1
	kill -KILL "$petra_pid"
	wait "$petra_pid" || true
	grep -q "$PETRA_RUN_DIR" /proc/self/mountinfo && after_kill=1
	# The container outlives the killed petra: end it.
	pid=$(petra ps --format json | jq -r '.[0].pid')
	kill -KILL "$pid"
	while [ -e "/proc/$pid" ]; do sleep 0.01; done
	grep "$PETRA_RUN_DIR" /proc/self/mountinfo | cut -d" " -f5 | xargs -r -n1 umount -l
	[ "$while_running" -eq 0 ]
	[ "$after_kill" -eq 0 ]
}
