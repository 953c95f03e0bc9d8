FROM alpine
RUN echo C:\\
RUN printf 'a\tb\n' \\
RUN echo last
