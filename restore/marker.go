package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"encoding/json"
	"os"
	"time"
)

// MarkerName is the file a restore leaves in the data directory, saying
// which backup was restored and when. PostgreSQL and MariaDB ignore a
// regular file of that name in their data directories; Backup leaves it out
// of backups.
const MarkerName = ".zkfence-restored.json"

// Marker is the content of MarkerName.
type Marker struct {
	Backup     string    `json:"backup"` // the backup's name, or "cmd"
	Source     string    `json:"source"` // the catalog, or "restore-cmd" (never the command: it may hold secrets)
	Engine     string    `json:"engine"`
	Version    string    `json:"version,omitempty"`
	Created    time.Time `json:"created,omitzero"` // when the backup was taken
	RestoredAt time.Time `json:"restored_at"`
	Token      int64     `json:"token"`
	Bytes      int64     `json:"bytes"`
	Files      int       `json:"files"`
	Host       string    `json:"host,omitempty"`
}

// maxMarker bounds what is read of a marker.
const maxMarker = 64 << 10

// ReadMarker reads the marker of a restored data directory: a regular
// file, never through a link, of at most 64 KiB.
func ReadMarker(dataDir string) (Marker, error) {
	var m Marker
	r, err := os.OpenRoot(dataDir)
	if err != nil {
		return m, err
	}
	defer r.Close()
	b, err := durable.ReadRegular(r, MarkerName, maxMarker)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// writeMarker writes the marker into the staging directory, so that it
// arrives with the data, owned like it.
func writeMarker(staging *os.Root, m Marker, e engine, uid, gid int) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFileIn(staging, MarkerName, append(b, '\n'), e.fileMode(0o600)); err != nil {
		return err
	}
	return staging.Lchown(MarkerName, uid, gid)
}
