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
//
// Records are written atomically: temp file, fsync, rename, fsync of the
// directory. Heartbeats are wall-clock times (they are compared across
// nodes), so the lock-delay must exceed the clock skew between nodes.
package fence

import (
	"encoding/json"
	"errors"
	"fmt"
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

// Read reads the record; it returns os.ErrNotExist (wrapped) when the volume
// has none.
func Read(root string) (Record, error) {
	var r Record
	data, err := os.ReadFile(Path(root))
	if err != nil {
		return r, fmt.Errorf("read fence record: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("fence record %s is corrupt: %w", Path(root), err)
	}
	if r.Service == "" || r.Token <= 0 {
		return r, fmt.Errorf("fence record %s is incomplete (service %q, token %d)", Path(root), r.Service, r.Token)
	}
	return r, nil
}

// Write replaces the record atomically: temp file, fsync, rename, fsync of
// the directory. A crash leaves either the old record or the new one.
func Write(root string, r Record) error {
	dir := filepath.Join(root, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write fence record: %w", err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("write fence record: %w", err)
	}
	if err := durable.WriteFile(dir, File, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write fence record: %w", err)
	}
	return nil
}
