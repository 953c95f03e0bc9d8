FROM python:3.12-slim
ONBUILD COPY requirements.txt /tmp/
ONBUILD RUN <<EOF
pip install --no-cache-dir -r /tmp/requirements.txt
rm /tmp/requirements.txt
EOF
ONBUILD ARG APP_ENV=production
ONBUILD ENV APP_ENV=$APP_ENV
