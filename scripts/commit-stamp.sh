#!/bin/sh
# Write the commit of the sources into $1, but only when it changed: make then rebuilds exactly
# when the commit the documents name would change (a new commit, or sources edited since it).
set -eu
stamp="$1"
mkdir -p "$(dirname "$stamp")"
head=$(git rev-parse HEAD 2>/dev/null || echo "no commit")
changed=$(git status --porcelain --untracked-files=no -- templates solutions verify pipeline build.py 2>/dev/null | head -c 1)
new="$head${changed:+ with uncommitted changes}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$new" ]; then
  exit 0
fi
echo "$new" > "$stamp"
