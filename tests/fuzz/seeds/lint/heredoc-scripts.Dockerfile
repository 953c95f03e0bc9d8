# syntax=docker/dockerfile:1
FROM alpine:3.20
RUN <<EOF
set -e
apk add --no-cache curl
adduser -D -u 10001 app
EOF
COPY <<-"CONF" /etc/app/app.conf
	listen = 8080
	log = "stdout"
	CONF
RUN <<SCRIPT1 sh && <<SCRIPT2 sh
echo one
SCRIPT1
echo two
SCRIPT2
USER 10001
