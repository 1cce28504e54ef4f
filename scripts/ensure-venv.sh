#!/bin/sh
# Create .venv and install the project into it (called by make when pyproject.toml changed).
set -eu
venv="$1"
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found. Install Python 3.10 or newer (Debian/Ubuntu: apt-get install python3 python3-venv)." >&2
  exit 1
fi
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing with apt-get: python3-venv" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
  else
    echo "error: Python's venv module is missing. Install it (Debian/Ubuntu: sudo apt-get install python3-venv), then run make again." >&2
    exit 1
  fi
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e '.[test]'
