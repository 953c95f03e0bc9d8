FROM alpine
RUN --network=none make test
RUN --network=host --security=insecure ./integration.sh
RUN --mount=type=secret,id=netrc,target=/root/.netrc,required=true \
    --mount=type=ssh \
    --mount=type=bind,from=build,source=/out,target=/mnt \
    --mount=type=tmpfs,target=/tmp,size=64m \
    ./deploy.sh
