FROM ubuntu:latest
MAINTAINER someone@example.invalid
RUN apt-get update
RUN apt-get upgrade -y
RUN apt-get install curl
ADD https://example.invalid/install.sh /tmp/install.sh
RUN curl -sSL https://example.invalid/get.sh | sh
RUN cd /tmp && sudo make install
ENV AWS_SECRET_ACCESS_KEY=changeme
COPY id_rsa /root/.ssh/id_rsa
CMD python app.py
CMD python other.py
