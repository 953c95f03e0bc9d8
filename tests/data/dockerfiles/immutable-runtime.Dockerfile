FROM debian:bookworm-slim AS runtime
RUN set -eux; \
    groupadd --gid 10001 app; \
    useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin app; \
    find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
COPY --chown=0:0 --chmod=0555 bin/ /opt/app/bin/
COPY --chown=0:0 --chmod=0444 config/ /opt/app/config/
VOLUME ["/var/lib/app"]
USER 10001:10001
WORKDIR /opt/app
ENTRYPOINT ["/opt/app/bin/server", "--config", "/opt/app/config/app.toml"]
