#!/bin/sh
# Builds a small toolforge-deploy checkout with real-shaped history in DEST (default
# .demo/toolforge-deploy): builds-api moves 0.0.128 -> 0.0.130 -> 0.0.131, and its values
# file is renamed from tools.yaml to tools.yaml.gotmpl on the way, as in the real history.
# The files at HEAD are examples/toolforge-deploy (verbatim from toolforge-deploy@be73bc9).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-.demo/toolforge-deploy}
rm -rf "$dest"
mkdir -p "$dest/components/builds-api/values"
cd "$dest"
git init -q -b main .
git config user.name "Toolforge deployer"
git config user.email "deploy@toolforge.invalid"
head_values="$here/toolforge-deploy/components/builds-api/values/tools.yaml.gotmpl"
cp "$here/toolforge-deploy/components/builds-api/helmfile.yaml" components/builds-api/
commit() {  # commit DATE MESSAGE
  git add -A
  GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" git commit -q -m "$2"
}
# Plain YAML at first: only the chart version and repository.
printf 'chartVersion: 0.0.128-20240212150430-023b8914\nchartRepository: tools\n' \
  > components/builds-api/values/tools.yaml
commit "2024-02-12T16:10:00+01:00" "builds-api: bump to 0.0.128-20240212150430-023b8914"
sed 's/0.0.128-20240212150430-023b8914/0.0.130-20240221160838-03b2a120/' \
  components/builds-api/values/tools.yaml > tools.tmp && mv tools.tmp components/builds-api/values/tools.yaml
commit "2024-02-21T17:20:00+01:00" "builds-api: bump to 0.0.130-20240221160838-03b2a120"
# The values become a helmfile template (secrets through exec): the file is renamed.
git mv components/builds-api/values/tools.yaml components/builds-api/values/tools.yaml.gotmpl
sed 's/0.0.131-20240222212602-322f874b/0.0.130-20240221160838-03b2a120/' "$head_values" \
  > components/builds-api/values/tools.yaml.gotmpl
commit "2024-02-22T10:05:00+01:00" "builds-api: read the Harbor credentials from secrets"
cp "$head_values" components/builds-api/values/tools.yaml.gotmpl
commit "2024-02-22T23:41:00+01:00" "builds-api: bump to 0.0.131-20240222212602-322f874b"
echo "built $dest: $(git rev-list --count HEAD) commits, builds-api 0.0.128 -> 0.0.130 -> 0.0.131"
