#!/bin/sh
# No signature at all.
echo "this should not run either"
