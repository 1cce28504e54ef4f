#!/bin/sh
# Make sure bubblewrap (bwrap), the sandbox the grader runs students' code in, is installed.
# As root on Debian/Ubuntu it is installed with apt-get; elsewhere one message names it.
set -eu
command -v bwrap >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing with apt-get: bubblewrap" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends bubblewrap >&2
  exit 0
fi
echo "error: bubblewrap is missing. Install it (Debian/Ubuntu: sudo apt-get install bubblewrap), then run make again." >&2
exit 1
