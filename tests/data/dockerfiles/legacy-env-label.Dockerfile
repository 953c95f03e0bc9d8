FROM centos:7
MAINTAINER Jane Doe <jane@example.invalid>
ENV JAVA_HOME /usr/lib/jvm/java-11
ENV PATH $JAVA_HOME/bin:$PATH
LABEL version 1.0
LABEL description "A legacy image"
ADD app.tar.gz /opt/
VOLUME /var/log/app
CMD java -jar /opt/app/app.jar
