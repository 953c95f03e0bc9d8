FROM alpine
RUN apk add --no-cache \

    bash \

    coreutils
RUN echo ok
