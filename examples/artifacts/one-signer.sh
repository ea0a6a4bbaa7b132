#!/bin/sh
# Signed by one release key only: not enough for a 2-of-3 rule.
echo "this should not run"
