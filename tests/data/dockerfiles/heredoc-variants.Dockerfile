FROM alpine
RUN <<"EOF" cat > /etc/motd
Welcome, $USER
EOF
RUN 3<<EOF cat /dev/fd/3
fd three
EOF
COPY <<one.txt <<two.txt /out/
first
one.txt
second
two.txt
RUN echo "<<not a heredoc" cat<<nor-this
RUN python3 <<'PY'
print("hi")
PY
