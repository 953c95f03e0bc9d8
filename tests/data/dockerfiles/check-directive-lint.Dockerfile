# check=skip=JSONArgsRecommended,StageNameCasing
# escape=\
FROM alpine:3.20 AS base
RUN echo hi
FROM base AS final
CMD echo shell form on purpose
