FROM redis:7
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --start-interval=2s --retries=5 \
  CMD redis-cli ping | grep -q PONG
HEALTHCHECK NONE
HEALTHCHECK CMD ["redis-cli", "ping"]
healthcheck --retries=1 cmd true
