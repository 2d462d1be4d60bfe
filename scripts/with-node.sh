#!/bin/sh
# The npm scripts that run TypeScript go through this (see package.json): `npm start` is
# `sh scripts/with-node.sh node local/start.ts`. It puts a Node.js >= 22.18 first on PATH with
# .ci/node.sh (the same logic CI uses: on an older node it fetches Node.js 24 from the npm registry
# into a cache folder once), then replaces itself with the command, so signals (Ctrl-C) and the exit
# code are the command's own. With --java first, it also requires Java 17+ (DynamoDB Local).
# Its messages go to stderr, so `TOKEN=$(npm run -s token -- alice)` captures only the token; when
# it cannot go on, it prints one line saying what to do and exits 1.
parley_root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
. "$parley_root/.ci/node.sh" || exit 1

if [ "${1:-}" = "--java" ]; then
  shift
  parley_java=$(java -version 2>&1 | head -n 1) || parley_java=
  if ! echo "$parley_java" | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
    command -v java >/dev/null 2>&1 || parley_java="no java on PATH"
    echo "parley: the integration and end-to-end tests run DynamoDB Local, which needs Java 17+ (found: ${parley_java:-nothing}): install one (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless; macOS: brew install openjdk@17), or run the unit tests alone: npm run test:unit" >&2
    exit 1
  fi
fi

if [ "$#" -eq 0 ]; then
  echo "usage: sh scripts/with-node.sh [--java] COMMAND [ARGS...]" >&2
  exit 2
fi
exec "$@"
