// Package fence keeps the fence record on a guarded volume: the truth the
// volume itself carries about who may write to it, next to ZooKeeper's.
//
// ZooKeeper alone cannot stop a holder that was frozen (VM pause, cgroup
// freeze) and thaws after its session expired. So every guarded volume holds
// .zkfence/fence.json: the service that owns the volume (its lock path), the
// fencing token of the current holder, who that is, and a heartbeat the
// holder refreshes while its child runs. Invariants:
//
//   - A volume belongs to one service. A wrapper for another lock path is
//     refused unless the operator explicitly takes the volume over.
//   - Tokens on a volume never go back: a record with a token greater than
//     ours means ZooKeeper's state was reset or rolled back; we refuse.
//   - A new holder writes its token only once the previous holder's heartbeat
//     is older than the lock-delay, or the previous holder marked the record
//     released after its child was confirmed dead.
//   - A running holder that reads back a newer token, another holder, or an
//     unreadable record stops its child at once.
//   - Others can write the volume. The record is read and written relative
//     to the volume (os.Root), never through a link, never blocking on a
//     FIFO, at most MaxRecord bytes, in a .zkfence that zkfence made (a real
//     directory of its user that others cannot write). Anything else is a
//     corrupt record: the start is refused, a running child is stopped.
//   - Every beat of the keeper is bounded in time (Claim.IOTimeout).
//
// Records are written atomically: temp file, fsync, rename, fsync of the
// directory. Heartbeats are wall-clock times (they are compared across
// nodes), so the lock-delay must exceed the clock skew between nodes.
package fence

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/zkfence/zkfence/internal/durable"
)

// Dir and File name the record on a volume.
const (
	Dir  = ".zkfence"
	File = "fence.json"
)

// ErrFenced is wrapped by every error that means "a newer holder owns this
// volume" (exit code Fenced), at start or while running. ErrRefused is
// wrapped by errors that refuse the start for ownership (exit code
// StorageRefused).
// ErrUnreachable is wrapped when the record cannot be read or written for
// an I/O reason (ENOTCONN, EIO, ESTALE, ...): the volume failed, which is a
// lost mount (exit code MountLost), not a newer holder.
var (
	ErrFenced      = errors.New("fenced")
	ErrRefused     = errors.New("volume refused")
	ErrUnreachable = errors.New("volume unreachable")
)

// Record is the content of the fence record.
type Record struct {
	Service   string    `json:"service"` // the lock path that owns the volume
	Token     int64     `json:"token"`
	Holder    string    `json:"holder"` // host/pid of the holder, as in ZKFENCE_HOLDER
	Heartbeat time.Time `json:"heartbeat"`
	Released  bool      `json:"released"` // the holder's child was confirmed dead and it let go
}

// Path returns the record's path on the volume mounted at root.
func Path(root string) string { return filepath.Join(root, Dir, File) }

// MaxRecord bounds what is read of a record: a real one is under 1 KiB,
// and a larger file is a plant (a corrupt record), never read whole.
const MaxRecord = 64 << 10

// errCorrupt is wrapped by every Read error that means "the record is not
// one a holder wrote" (a plant, garbage, an incomplete record), as opposed
// to the volume failing: the keeper takes it for a newer holder (ErrFenced).
var errCorrupt = errors.New("corrupt fence record")

// IsCorrupt reports whether a Read error means a record that no holder
// wrote (a plant, garbage, not zkfence's own .zkfence), which Acquire
// refuses, as opposed to a volume that did not answer.
func IsCorrupt(err error) bool { return errors.Is(err, errCorrupt) }

// Read reads the record; it returns os.ErrNotExist (wrapped) when the volume
// has none. It never follows a symlink (at .zkfence or at the record), never
// blocks on a FIFO, reads at most MaxRecord+1 bytes, and refuses a .zkfence
// that zkfence did not make (another owner, writable by others): all of
// these are a corrupt record. Its time is bounded by the caller: the
// keeper's beats and the runner's bounded Acquire and Release.
func Read(root string) (Record, error) {
	d, err := openDir(root, false)
	if err != nil {
		return Record{}, fmt.Errorf("read fence record: %w", err)
	}
	defer d.Close()
	data, err := durable.ReadRegular(d, File, MaxRecord)
	if errors.Is(err, durable.ErrNotOurs) {
		return Record{}, fmt.Errorf("%w: %s: %w", errCorrupt, Path(root), err)
	}
	if err != nil {
		return Record{}, fmt.Errorf("read fence record: %w", err)
	}
	r, err := Parse(data)
	if err != nil {
		return r, fmt.Errorf("fence record %s: %w", Path(root), err)
	}
	return r, nil
}

// Parse decodes a record and checks that it is complete. Its errors wrap
// the corrupt-record error that the keeper takes for ErrFenced.
func Parse(data []byte) (Record, error) {
	var r Record
	if len(data) > MaxRecord {
		return Record{}, fmt.Errorf("%w: %d bytes, more than %d", errCorrupt, len(data), MaxRecord)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{}, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if r.Service == "" || r.Token <= 0 {
		return r, fmt.Errorf("%w: incomplete (service %q, token %d)", errCorrupt, r.Service, r.Token)
	}
	return r, nil
}

// Write replaces the record atomically: temp file, fsync, rename, fsync of
// the directory. A crash leaves either the old record or the new one. It
// creates .zkfence (0700) when missing and refuses one that is not a
// directory zkfence made: nothing is ever written outside the volume.
func Write(root string, r Record) error {
	d, err := openDir(root, true)
	if err != nil {
		return fmt.Errorf("write fence record: %w", err)
	}
	defer d.Close()
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("write fence record: %w", err)
	}
	if err := durable.WriteFileIn(d, File, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write fence record: %w", err)
	}
	return nil
}

// openDir opens root's .zkfence as a Root (creating it first if create):
// a real directory, owned by zkfence's user, that others cannot write.
// Anything else wraps errCorrupt. The volume root itself is the operator's
// path (the mount point) and may be reached through links.
func openDir(root string, create bool) (*os.Root, error) {
	vol, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer vol.Close()
	if create {
		if err := vol.Mkdir(Dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	d, fi, err := durable.OpenDir(vol, Dir)
	if err == nil {
		if err = durable.CheckOwn(Dir, fi); err != nil {
			d.Close()
		}
	}
	switch {
	case errors.Is(err, durable.ErrNotOurs):
		return nil, fmt.Errorf("%w: %s: %w", errCorrupt, root, err)
	case err != nil:
		return nil, err
	}
	return d, nil
}
