# syntax=docker/dockerfile:1.7-labs
FROM golang:1.22 AS build
WORKDIR /src
COPY --parents ./cmd/*/main.go ./internal/ /src/
COPY --exclude=*.md --exclude=testdata/ . .
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.invalid/dl/tool.tar.gz /tmp/
ADD --keep-git-dir=true https://example.invalid/repo.git#v1.2.3 /src/repo
