#!/bin/sh
# A release script signed by two of the three release keys.
echo "hello from a release signed by 2 of 3 release keys"
