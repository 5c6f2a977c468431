#!/usr/bin/env bash
# The main job, end to end, with no Docker daemon and no network: package the multi-file example
# flow as a container image (this machine's Node.js as the base, written to an OCI layout), then
# run the flow from that image.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli.mjs ] || npm run build --silent
out=.flowpack/demo
rm -rf "$out"
mkdir -p "$out"
flowpack() {
  printf '\n$ flowpack %s\n' "$*" >&2
  node dist/cli.mjs "$@"
}
flowpack package examples/report/src/flow.ts --packager docker --builder oci --base-image host \
  --oci-layout "$out/layout" --output "$out/manifest.json"
flowpack inspect "$out/manifest.json"
flowpack run "$out/manifest.json" --param day=2024-03-01 --param limit=3
