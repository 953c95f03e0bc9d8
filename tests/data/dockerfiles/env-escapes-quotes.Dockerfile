FROM alpine
ENV A=plain B="double quoted" C='single quoted' D=with\ space E=\"q\"
ENV MULTI="line one \
line two"
ARG QUOTED="a b" SINGLE='c d'
LABEL com.example.cmd="x=y" empty=""
