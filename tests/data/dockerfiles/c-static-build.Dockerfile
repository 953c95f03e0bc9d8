FROM gcc:14 AS build
WORKDIR /src
COPY Makefile *.c *.h ./
RUN make CFLAGS="-O2 -static" LDFLAGS=-static && strip hello

FROM scratch
COPY --from=build /src/hello /hello
USER 65534:65534
ENTRYPOINT ["/hello"]
CMD ["--greeting", "hi"]
