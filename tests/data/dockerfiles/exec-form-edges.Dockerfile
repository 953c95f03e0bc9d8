FROM busybox
CMD ["echo", "tab\there", "quote\"d", "back\\slash", "\u00e9t\u00e9"]
ENTRYPOINT ["/bin/sh", "-c"]
RUN ["sh", "-c", "echo 'single'"]
CMD [ ]
CMD ["unterminated"
CMD ['single', 'quotes']
ENTRYPOINT ["a",]
RUN [ "spaced" ]
