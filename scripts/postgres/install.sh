#!/usr/bin/env bash
# Install PostgreSQL and the pgvector extension from Debian (idempotent; quick once installed).
#   bash scripts/postgres/install.sh
# PostgreSQL comes from the machine's Debian release. pgvector is taken as the Debian binary package
# postgresql-NN-pgvector where the release has one; Debian 12 has none, so there the Debian source
# package of pgvector (from the next release, through a private apt list: the system's apt sources
# are not touched) is built against the installed server with PGXS and installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/apt_install.sh postgresql
PG_MAJOR=$(ls /usr/lib/postgresql | sort -n | tail -1)
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
SHARE=$($PG_CONFIG --sharedir)
[ -f "$SHARE/extension/vector.control" ] && exit 0

if apt-cache show "postgresql-$PG_MAJOR-pgvector" >/dev/null 2>&1; then
  bash scripts/apt_install.sh "postgresql-$PG_MAJOR-pgvector"
  exit 0
fi

echo "==> building pgvector from its Debian source package for PostgreSQL $PG_MAJOR"
bash scripts/apt_install.sh "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial"
echo "deb-src http://deb.debian.org/debian ${PGVECTOR_DEBIAN_SUITE:-trixie} main" > "$WORK/sources.list"
APT=(apt-get -qq -o "Dir::Etc::SourceList=$WORK/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$WORK/lists" -o "Dir::Cache=$WORK/cache" -o APT::Sandbox::User=root)
"${APT[@]}" update
(cd "$WORK" && "${APT[@]}" source --download-only pgvector && dpkg-source -x --no-check pgvector_*.dsc src >/dev/null)
make -s -C "$WORK/src" PG_CONFIG="$PG_CONFIG" >/dev/null
make -s -C "$WORK/src" PG_CONFIG="$PG_CONFIG" install >/dev/null
[ -f "$SHARE/extension/vector.control" ] && echo "==> pgvector installed into PostgreSQL $PG_MAJOR"
