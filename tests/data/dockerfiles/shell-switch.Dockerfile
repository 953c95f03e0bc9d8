FROM debian:12
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN curl -fsSL https://example.invalid/key.asc | gpg --dearmor > /usr/share/keyrings/x.gpg
SHELL ["/bin/sh", "-c"]
RUN echo back to sh
