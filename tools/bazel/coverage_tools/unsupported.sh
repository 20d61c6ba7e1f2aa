#!/bin/sh
echo "bazel coverage is not supported by this offline workspace" >&2
exit 1
