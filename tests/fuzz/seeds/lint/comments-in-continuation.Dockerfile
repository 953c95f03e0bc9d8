FROM ubuntu:24.04
# Install build tools; comments inside the continuation are dropped.
RUN apt-get update \
# the compilers
    && apt-get install -y --no-install-recommends gcc make \
    # and the rest
      # indented further
    && rm -rf /var/lib/apt/lists/*
# petra ignore=DL3008
RUN echo done
