FROM alpine:3.20
RUN apk add --no-cache \
      tini \
      su-exec
ENTRYPOINT ["/sbin/tini", "--"]
