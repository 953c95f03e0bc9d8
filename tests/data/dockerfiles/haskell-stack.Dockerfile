FROM haskell:9.6 AS build
WORKDIR /opt/build
COPY stack.yaml package.yaml stack.yaml.lock /opt/build/
RUN stack build --system-ghc --dependencies-only
COPY . /opt/build
RUN stack build --system-ghc --copy-bins --local-bin-path /opt/out

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgmp10 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/out/app /usr/local/bin/app
USER 10001
CMD ["app"]
