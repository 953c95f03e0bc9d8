FROM alpine
VOLUME ["/data", "/var/log/app"]
VOLUME /cache /tmp/scratch
EXPOSE 8000-8010/tcp 9090
WORKDIR /srv/my app
WORKDIR relative/dir
USER 1000:1000
STOPSIGNAL 15
