#!/bin/sh
# The application: greets with its version.
echo "hello from $(cat /app/VERSION) on $(uname -s)"
