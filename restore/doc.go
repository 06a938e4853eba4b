// Package restore restores a database's data directory at process start, and
// takes the backups it restores from.
//
// # When, where, which
//
// Run is called once per `zkfence run`, with the lock held, after the storage
// checks and the fence, before the child starts. It restores only when the
// data directory is missing or empty (an empty `lost+found` does not count).
// A directory that holds the engine's marker (PG_VERSION for PostgreSQL, the
// `mysql` system schema directory for MySQL/MariaDB) is left alone. A
// non-empty directory without the marker is refused: it is not a database
// zkfence recognises, and writing into it could destroy someone's data.
//
// The source is either a catalog written by Backup (Config.From), from which
// the newest complete backup whose checksums verify is taken (or the one
// named, or the newest before a time; a corrupt backup is skipped with a
// warning in favour of the next older one), or an operator's script
// (Config.Cmd) that fills the staging directory.
//
// # Invariant I5: restore never destroys data
//
//   - The data directory is never written into while it holds anything.
//     Everything is written into a staging directory created by this run;
//     the data directory appears, complete, only by rename(2).
//   - The staging directory is a sibling of the data directory
//     (<parent>/.<name>.zkfence-restore-<hex>), on the same filesystem, so
//     the final rename is atomic: rename(2) onto an existing directory
//     succeeds only when that directory is empty, so the kernel itself
//     re-checks emptiness at the instant of the switch.
//   - Every file is verified (size and SHA-256 against the manifest), given
//     the engine's modes and owner, and fsynced, with its directory, before
//     the rename; the parent is fsynced after it.
//   - A failed, cancelled or killed restore leaves the data directory as it
//     was. A staging directory left by a crash is removed on the next start;
//     only names matching the staging pattern are ever removed.
//   - When the data directory is a mount point (a volume mounted at the data
//     directory, as containers and Marathon local volumes do), rename(2)
//     into it is impossible. Staging then lives inside the (empty) mount
//     point, its top-level entries are listed in a commit record once they
//     are verified and synced, and then moved up one by one, the engine's
//     marker last. A crash before the commit leaves only the staging
//     directory, removed on the next start; a crash after it is rolled
//     forward on the next start, and only if every other entry of the data
//     directory is one the commit record names (and the staging directory
//     is zkfence's own: see below). Until the marker arrives the
//     directory never looks like a database.
//
// # Hostile ground: nothing planted on a volume steers root
//
//   - The data directory is reached from / without following a single
//     symlink (openParent), and every later step (cleanup, staging, copy,
//     rename, roll forward) is relative to the directories opened that way
//     (os.Root, renameat(2)): nothing is read, written, chowned or chmodded
//     outside them.
//   - A staging directory stays owned by zkfence's user, mode 0700, until it
//     is placed; the data directory's owner and mode are applied at the
//     switch (sibling) or carried by the commit record (in place), which
//     also carries the fencing token. Only a staging directory with all of
//     that, and a token not newer than ours, is rolled forward; anything
//     else named like one is left alone, with a warning.
//   - A backup's directories must be real directories and its files regular
//     files, opened without following links; its manifest, commit records
//     and markers are bounded regular files. A file that does not verify is
//     reported with the manifest's size and SHA-256 only, never with what
//     was read.
//
// Run's ctx must be cancelled when the lock is lost: Run checks it between
// files and right before the rename, and a cancelled restore changes nothing.
//
// # Backups
//
// Backup writes <catalog>/<UTC time>-<engine>/ with the engine's own tools
// (pg_basebackup -Fp -X stream; mariadb-backup --backup then --prepare), as a
// plain data directory under data/, and manifest.json last (temp file, fsync,
// rename, directory fsync). A backup without a manifest saying complete is
// ignored by Run and removed by retention once it is old.
package restore
