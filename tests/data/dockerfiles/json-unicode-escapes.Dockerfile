FROM alpine
CMD ["printf", "%s\n", "\u2603 snowman", "\ud83d\ude80", "\/slash", "nul\u0000byte"]
ENTRYPOINT ["\u0065cho"]
