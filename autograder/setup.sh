#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: it installs Python 3
# and this project (unpacked from the zip into /autograder/source) into the venv /autograder/venv
# that run_autograder uses.  Needs Python 3.10 or newer: pick Gradescope's Ubuntu 22.04 base image
# or a later one.
#
# Students' code must not reach the key.  Gradescope's containers refuse the namespaces bubblewrap
# needs, so the grader falls back to running the candidate as the unprivileged user verify-candidate
# (verify.sandbox, "user" isolation), on a runtime of its own that holds NumPy and SciPy alone
# (/opt/verify-candidate); the grader's install and this folder are made private to root (0700).
# bubblewrap is installed too: where the container allows namespaces, the grader uses it instead.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

root="${AUTOGRADER_ROOT:-/autograder}"
source_dir="$(cd "$(dirname "$0")" && pwd)"   # the unpacked zip: /autograder/source
candidate_user=verify-candidate
candidate_runtime=/opt/verify-candidate

apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip bubblewrap libseccomp2

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "error: $(python3 --version 2>&1) is too old; the grader needs Python 3.10 or newer (choose Gradescope's Ubuntu 22.04 image or later)" >&2
  exit 1
fi

python3 -m venv "$root/venv"
"$root/venv/bin/python" -m pip install --quiet --upgrade pip
# Not editable: the installed copy does not depend on /autograder/source staying as it is.
"$root/venv/bin/python" -m pip install --quiet --no-cache-dir "$source_dir"

# The candidate's runtime: the grader's NumPy and SciPy versions, and nothing else.
versions="$("$root/venv/bin/python" -c 'import numpy, scipy; print(f"numpy=={numpy.__version__} scipy=={scipy.__version__}")')"
python3 -m venv "$candidate_runtime"
# shellcheck disable=SC2086 -- two requirements, meant to split
"$candidate_runtime/bin/python" -m pip install --quiet --no-cache-dir $versions
chmod -R a+rX "$candidate_runtime"
id -u "$candidate_user" >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$candidate_user"

# Private to root: the key's source, the grader's install, and the results.
chmod 0700 "$root" "$root/venv" "$source_dir"

# Fail the image build now, not each student's submission later, if the homework does not load
# or the candidate cannot be isolated.
"$root/venv/bin/python" -m verify list
"$root/venv/bin/python" -c 'from verify.sandbox import isolation; print(isolation())'
