#!/usr/bin/env bash
# Build and install fairseq 0.12.2 from the official sdist plus our patch, into the active env.
#   usage: third_party/install_fairseq.sh PYTHON
# The sdist is fetched once through pip (never a fork), its sha256 checked, then patched and
# installed with pip's build isolation (the sdist lacks the C++ sources a non-isolated build wants).
set -euo pipefail
PY=${1:?usage: install_fairseq.sh PYTHON}
HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=0.12.2
SHA256=34f1b18426bf3844714534162f065ab733e049597476daa35fffb4d06a92b524
CACHE=${XLGEN_CACHE:-$HOME/.cache/fairseq-xlgen}
SDIST=$CACHE/fairseq-$VERSION.tar.gz
PATCH=$HERE/fairseq-$VERSION-xlgen.patch

stamp=$("$PY" -c "import sys; print(sys.prefix)")/.fairseq-xlgen-patch.sha256
want=$(sha256sum "$PATCH" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$PY" -c "import fairseq" 2>/dev/null; then
  echo "fairseq $VERSION (patched) already installed"; exit 0
fi

mkdir -p "$CACHE"
if [ ! -f "$SDIST" ] || ! echo "$SHA256  $SDIST" | sha256sum -c --status; then
  echo "fetching the fairseq $VERSION sdist through pip"
  "$PY" -m pip download --quiet --no-deps --no-binary fairseq "fairseq==$VERSION" -d "$CACHE"
fi
echo "$SHA256  $SDIST" | sha256sum -c --status \
  || { echo "error: $SDIST does not match the pinned sha256 $SHA256; delete it and retry" >&2; exit 1; }

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
tar xzf "$SDIST" -C "$build"
patch --quiet -p1 -d "$build/fairseq-$VERSION" < "$PATCH"
"$PY" -m pip install --quiet -c "$HERE/../constraints.txt" "$build/fairseq-$VERSION"
echo "$want" > "$stamp"
echo "fairseq $VERSION built from the sdist with $(grep -c '^@@' "$PATCH") patch hunks"
