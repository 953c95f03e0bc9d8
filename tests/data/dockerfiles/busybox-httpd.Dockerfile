FROM busybox:1.36-musl
COPY --chown=0:0 --chmod=0644 site/ /www/
RUN adduser -D -H -u 10001 web
USER web
EXPOSE 8080
CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
