FROM alpine
COPY -- --help.txt /docs/
COPY --chown=app:app -- -weird /x
RUN -- echo not a flag
ADD --link -- a b
