#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: it installs Python 3
# and this project (unpacked from the zip into /autograder/source) into the venv /autograder/venv
# that run_autograder uses.  Needs Python 3.10 or newer: pick Gradescope's Ubuntu 22.04 base image
# or a later one.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

root="${AUTOGRADER_ROOT:-/autograder}"
source_dir="$(cd "$(dirname "$0")" && pwd)"   # the unpacked zip: /autograder/source

apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "error: $(python3 --version 2>&1) is too old; the grader needs Python 3.10 or newer (choose Gradescope's Ubuntu 22.04 image or later)" >&2
  exit 1
fi

python3 -m venv "$root/venv"
"$root/venv/bin/python" -m pip install --quiet --upgrade pip
# Not editable: the installed copy does not depend on /autograder/source staying as it is.
"$root/venv/bin/python" -m pip install --quiet --no-cache-dir "$source_dir"

# Fail the image build now, not each student's submission later, if the homework does not load.
"$root/venv/bin/python" -m verify list
