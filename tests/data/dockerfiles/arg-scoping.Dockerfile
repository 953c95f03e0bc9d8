ARG BASE_REGISTRY=docker.io
ARG BASE_IMAGE=library/alpine
ARG BASE_TAG=3.20
FROM ${BASE_REGISTRY}/${BASE_IMAGE}:${BASE_TAG} AS base
ARG BASE_TAG
ARG VERSION=0.0.0-dev COMMIT
LABEL org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.revision=$COMMIT \
      org.opencontainers.image.base.name="${BASE_REGISTRY}/${BASE_IMAGE}:${BASE_TAG}"
ENV APP_VERSION=${VERSION:-unknown}
RUN echo "building ${APP_VERSION} on ${BASE_TAG}"
