package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"encoding/json"
	"os"
	"path/filepath"
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

// ReadMarker reads the marker of a restored data directory.
func ReadMarker(dataDir string) (Marker, error) {
	var m Marker
	b, err := os.ReadFile(filepath.Join(dataDir, MarkerName))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// writeMarker writes the marker into the staging directory, so that it
// arrives with the data, owned like it.
func writeMarker(staging string, m Marker, e engine, uid, gid int) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFile(staging, MarkerName, append(b, '\n'), e.fileMode(0o600)); err != nil {
		return err
	}
	return os.Lchown(filepath.Join(staging, MarkerName), uid, gid)
}
