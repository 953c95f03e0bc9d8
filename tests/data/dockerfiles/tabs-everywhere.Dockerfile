FROM	alpine
RUN	echo	"tab	inside"	\
	&&	true
ENV	KEY	value	with	tabs
LABEL	a=1	b=2
