#!/usr/bin/env bash
# vendor.sh: fetch the console's JavaScript libraries and offline map
# boundaries at the versions pinned in vendor/package-lock.json (npm ci
# checks each package's integrity hash) and copy the files the console
# uses, with their licences, into assets/vendor/ (or the folder given).
# CI runs it into a temporary folder and checks the result equals what is
# committed, so the embedded assets are what this script makes.
#
#   bash internal/console/vendor.sh            # refresh assets/vendor/
#   bash internal/console/vendor.sh /tmp/out   # build elsewhere (CI's check)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/assets/vendor}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/vendor/package.json" "$here/vendor/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
m=$work/node_modules
rm -rf "$out"
mkdir -p "$out/images"
cp "$m/cytoscape/dist/cytoscape.min.js" "$out/"
# cytoscape-dagre.js carries its own build of @dagrejs/dagre.
cp "$m/cytoscape-dagre/dist/cytoscape-dagre.js" "$out/"
cp "$m/leaflet/dist/leaflet.js" "$m/leaflet/dist/leaflet.css" "$out/"
cp "$m/leaflet/dist/images/"*.png "$out/images/"
cp "$m/topojson-client/dist/topojson-client.min.js" "$out/"
# Natural Earth's country boundaries (public domain) at 1:50m: the map's
# base layer, drawn offline (no tile server).
cp "$m/world-atlas/countries-50m.json" "$out/"
# Strip source-map comments: the maps are not vendored.
sed -i -e '/^\/\/# sourceMappingURL=/d' "$out/"*.js
{
	echo "Third-party software embedded in the epiledger console (internal/console/assets/vendor),"
	echo "copied by internal/console/vendor.sh from the npm packages pinned in vendor/package-lock.json."
	for p in cytoscape cytoscape-dagre @dagrejs/dagre leaflet topojson-client world-atlas; do
		v=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$m/$p/package.json" | head -1)
		l=$(ls "$m/$p" | grep -i -m1 '^licen[cs]e')
		echo
		echo "================================================================"
		echo "$p $v"
		echo "================================================================"
		cat "$m/$p/$l"
	done
} > "$out/LICENSES.txt"
(cd "$out" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "vendored into $out: $(ls "$out" | wc -l) entries"
