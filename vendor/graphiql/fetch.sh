#!/bin/sh
# Fetches the third-party files of this folder from the npm registry, unmodified, and
# checks them against SHA256SUMS. The versions below are the only place they are pinned.
#
#   vendor/graphiql/fetch.sh                # fetch (npm pack), copy the files here, verify
#   vendor/graphiql/fetch.sh --check        # verify the files here only; no network
#   vendor/graphiql/fetch.sh --update-sums  # after changing a version: fetch, then rewrite
#                                           # SHA256SUMS (review the diff before committing)
#
# Needs npm (the registry's own integrity check applies to every tarball) and sha256sum.
set -eu

GRAPHIQL_VERSION=3.9.0      # newest 3.x; 3.x publishes the UMD graphiql.min.js/.min.css
REACT_VERSION=18.3.1        # react and react-dom, UMD production builds (gone in React 19)
GRAPHQL_WS_VERSION=5.16.2   # newest 5.x; umd/graphql-ws.min.js

HERE=$(cd "$(dirname "$0")" && pwd)

# package@version  file-in-tarball  file-here
FILES="
graphiql@$GRAPHIQL_VERSION       package/graphiql.min.js                 graphiql.min.js
graphiql@$GRAPHIQL_VERSION       package/graphiql.min.css                graphiql.min.css
graphiql@$GRAPHIQL_VERSION       package/LICENSE                         LICENSE.graphiql
react@$REACT_VERSION             package/umd/react.production.min.js     react.production.min.js
react@$REACT_VERSION             package/LICENSE                         LICENSE.react
react-dom@$REACT_VERSION         package/umd/react-dom.production.min.js react-dom.production.min.js
react-dom@$REACT_VERSION         package/LICENSE                         LICENSE.react-dom
graphql-ws@$GRAPHQL_WS_VERSION   package/umd/graphql-ws.min.js           graphql-ws.min.js
graphql-ws@$GRAPHQL_WS_VERSION   package/LICENSE.md                      LICENSE.graphql-ws
"

verify() {
    (cd "$HERE" && sha256sum --check --strict SHA256SUMS)
}

MODE=fetch
case ${1:-} in
    '') ;;
    --check) verify; exit ;;
    --update-sums) MODE=update ;;
    *) echo "usage: $0 [--check|--update-sums]" >&2; exit 2 ;;
esac

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# One tarball per package, from the registry (npm checks its integrity hash).
for spec in $(echo "$FILES" | awk 'NF { print $1 }' | sort -u); do
    name=${spec%@*}
    echo "fetching $spec"
    tarball=$(cd "$WORK" && npm pack --silent --pack-destination "$WORK" "$spec" | tail -n 1)
    mkdir -p "$WORK/$name"
    tar -xzf "$WORK/$tarball" -C "$WORK/$name"
done

# Copy the wanted files out, untouched.
echo "$FILES" | while read -r spec from to; do
    [ -n "$spec" ] || continue
    cp "$WORK/${spec%@*}/$from" "$HERE/$to"
    chmod 644 "$HERE/$to"
done

if [ "$MODE" = update ]; then
    (cd "$HERE" && echo "$FILES" | awk 'NF { print $3 }' | sort | xargs sha256sum > SHA256SUMS)
    echo "SHA256SUMS rewritten:"
    cat "$HERE/SHA256SUMS"
fi
verify
