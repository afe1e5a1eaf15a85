# shellcheck shell=bash
# Databases for the benchmarks (hack/bench, hack/bench-regions,
# hack/bench-compare) on their throwaway cluster. A script sets base_url
# (the URL of a database on it) and sources this file.

# db_url NAME: the URL of database NAME on the same cluster.
# shellcheck disable=SC2154 # base_url is set by the script that sources this file
db_url() { printf '%s\n' "${base_url%/*}/$1"; }

# new_db NAME: creates an empty database NAME and prints its URL. Every
# measured run gets a new one and none is dropped until the cluster goes
# at exit: on a file system that will not reuse an inode for 60 s after
# its file was deleted, 360 s while its inode table block is unwritten
# (ext4 without a journal, as on the machine of docs/benchmarks.md), each
# file created soon after a DROP DATABASE of thousands of relations scans
# past the deleted ones (perf: recently_deleted under ext4_create). Drops
# between runs made the next runs' store DDL, Accord's and the floor's
# alike, 1 to 3 s slower, more with every drop.
new_db() {
  psql -q "$base_url" -c "CREATE DATABASE $1" >/dev/null
  db_url "$1"
}
