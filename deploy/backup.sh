#!/bin/sh
# Back up the ureport PostgreSQL database: deploy/backup.sh [DIR]
#
# Writes DIR/ureport-YYYYMMDDTHHMMSSZ.dump (pg_dump custom format: compressed, restorable table by table
# with pg_restore), checks that pg_restore can read it, then deletes dumps older than BACKUP_KEEP_DAYS
# days (default 14). DIR defaults to /var/backups/ureport. The database is UREPORT_DATABASE_URL
# (as in /etc/ureport/ureport.env).
#
# Retention: 14 nightly dumps on the host; copy them off the host too (rsync, object storage) and keep
# what your data-protection policy says, no longer. A dump holds phone numbers only as keyed digests and
# ciphertexts, readable with UREPORT_SECRET_KEY: store that secret apart from the dumps, never with them.
set -eu
umask 077

dir="${1:-/var/backups/ureport}"
keep="${BACKUP_KEEP_DAYS:-14}"
url="${UREPORT_DATABASE_URL:?UREPORT_DATABASE_URL is not set (source /etc/ureport/ureport.env)}"
url="${url%%\?*}"  # Tortoise options (?minsize=...) are not libpq's
case "$url" in
  postgres://*|postgresql://*) ;;
  *) echo "backup.sh: UREPORT_DATABASE_URL is not a PostgreSQL URL" >&2; exit 2 ;;
esac

mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dir/ureport-$stamp.dump"
partial="$final.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$partial" --dbname="$url"
pg_restore --list "$partial" >/dev/null  # a dump that cannot be read is no backup
mv "$partial" "$final"
trap - EXIT

find "$dir" -maxdepth 1 -name 'ureport-*.dump' -type f -mtime +"$keep" -delete
echo "backup.sh: wrote $final ($(wc -c <"$final") bytes); kept dumps newer than $keep days"
