FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4 AS xx
FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-apk add --no-cache gcc musl-dev
RUN --mount=target=. --mount=type=cache,target=/root/.cache \
    xx-go build -o /out/app . && xx-verify /out/app
FROM --platform=linux/amd64 alpine:3.20 AS amd64-only
FROM alpine:3.20
COPY --from=build /out/app /usr/bin/app
