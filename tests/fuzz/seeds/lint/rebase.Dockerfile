ARG BASE=alpine:3.19
FROM ${BASE} AS a
FROM debian:12.1
COPY --from=alpine:3.19 /x /y
RUN --mount=type=bind,from=bitnami/redis:7,target=/r curl -fsSL https://x | sh && rm /root/.npmrc
USER app
