# syntax = docker/dockerfile:1.9
#check=error=true
# escape=\
FROM scratch
COPY --link rootfs/ /
