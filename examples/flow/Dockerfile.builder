# The build image: the tools (busybox here; a compiler in real life), the
# sources, and the secret only for the step that needs it.
FROM busybox:1.35
ARG VERSION
WORKDIR /src
COPY src/ .
# A private dependency fetched with a token: the token is on a tmpfs for
# this step only, in no layer.
RUN --mount=type=secret,id=token,required=true \
    mkdir -p /root/.cache && sha256sum /run/secrets/token | cut -c1-12 > /root/.cache/fetched
# "Compile" and test: the runtime tree is the build's output.
RUN sh build.sh "$VERSION" /out/rootfs && sh test.sh /out/rootfs
