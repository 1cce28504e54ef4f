#!/bin/sh
# Make sure TeX Live and latexmk (and, with --test, poppler's pdftotext) are installed.
# As root on Debian/Ubuntu they are installed with apt-get; elsewhere one message names them.
set -eu
packages="texlive-latex-base texlive-latex-recommended texlive-fonts-recommended texlive-latex-extra texlive-pictures lmodern latexmk"
need=""
for tool in latexmk pdflatex kpsewhich; do
  command -v "$tool" >/dev/null 2>&1 || need="$packages"
done
if [ -z "$need" ]; then
  # the classes and packages the templates use, in case TeX Live is installed only in part
  for file in exam.cls tikz.sty mathtools.sty microtype.sty lmodern.sty mylatexformat.ltx; do
    kpsewhich "$file" >/dev/null 2>&1 || need="$packages"
  done
fi
if [ "${1:-}" = "--test" ]; then
  command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
fi
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing with apt-get: $need" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086 -- the package list is meant to split
  apt-get install -y -qq --no-install-recommends $need >&2
  exit 0
fi
echo "error: TeX is missing. Install these packages (Debian/Ubuntu: sudo apt-get install $need), then run make again." >&2
exit 1
