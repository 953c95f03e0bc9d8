FROM alpine:3.20
LABEL org.opencontainers.image.authors="Zoë Müller <zoe@example.invalid>" \
      description="Grüße aus Köln 🐳" \
      nbsp="a b"
ENV GREETING=héllo
RUN echo "日本語 → ok"
