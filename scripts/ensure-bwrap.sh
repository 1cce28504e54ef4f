#!/bin/sh
# Make sure bubblewrap (bwrap), the sandbox the grader runs students' code in, and libseccomp, which
# compiles the sandbox's system-call filter, are installed.
# As root on Debian/Ubuntu they are installed with apt-get; elsewhere one message names them.
set -eu
present() { command -v bwrap >/dev/null 2>&1 && PATH="$PATH:/sbin:/usr/sbin" ldconfig -p | grep -q 'libseccomp\.so\.2'; }
present && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing with apt-get: bubblewrap libseccomp2" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends bubblewrap libseccomp2 >&2
  exit 0
fi
echo "error: bubblewrap or libseccomp is missing. Install them (Debian/Ubuntu: sudo apt-get install bubblewrap libseccomp2), then run make again." >&2
exit 1
