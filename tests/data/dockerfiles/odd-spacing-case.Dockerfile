	fRoM    busybox:1.36	 AS	Tiny
  	label   maintainer="ops@example.invalid"
RUN	echo    spaced   out   
    Cmd   [ "sh" ,  "-c" , "echo hi" ]   
eXpOsE 80/tcp    443/tcp	53/udp
