#!/bin/sh
# Restore a ureport dump made by deploy/backup.sh: deploy/restore.sh DUMP [DATABASE_URL]
#
# Restores into DATABASE_URL (default: UREPORT_DATABASE_URL), which must exist and be empty: it refuses
# a database that already has ureport's tables, so a typo cannot overwrite production. To replace a
# live database, stop every ureport unit, drop and re-create it (deploy/RUNBOOK.md, "Restore"), then run
# this. One transaction: either the whole dump is restored or nothing is.
# Afterwards run `ureport migrate` (applies any migration newer than the dump) and start the units.
set -eu

dump="${1:?usage: restore.sh DUMP [DATABASE_URL]}"
url="${2:-${UREPORT_DATABASE_URL:?UREPORT_DATABASE_URL is not set and no DATABASE_URL given}}"
url="${url%%\?*}"
[ -r "$dump" ] || { echo "restore.sh: cannot read $dump" >&2; exit 2; }

tables="$(psql --no-psqlrc --tuples-only --no-align --dbname="$url" \
  --command="SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('contact', 'outbound_message', 'poll')")"
if [ "$tables" != "0" ]; then
  echo "restore.sh: the target database already holds ureport tables; restore into an empty database" >&2
  exit 3
fi

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$dump"
echo "restore.sh: restored $dump; now run \`ureport migrate\`, then start the ureport units"
