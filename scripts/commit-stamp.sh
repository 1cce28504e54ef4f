#!/bin/sh
# Write the commit of the sources into $1, but only when it changed: make then rebuilds exactly
# when the commit the documents name would change (a new commit, or sources edited since it), and
# when a source file appears or goes away (a deleted file is in no prerequisite list make can see).
set -eu
stamp="$1"
mkdir -p "$(dirname "$stamp")"
head=$(git rev-parse HEAD 2>/dev/null || echo "no commit")
# which sources differ from the commit, new files not yet added included (pipeline/provenance.py)
changes=$(git status --porcelain --untracked-files=all -- templates solutions verify pipeline build.py 2>/dev/null | cksum)
files=$(ls templates solutions verify pipeline 2>/dev/null | cksum)
new="$head; changed: $changes; files: $files"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$new" ]; then
  exit 0
fi
echo "$new" > "$stamp"
