package lock

import (
	"encoding/json"
	"os"
	"time"
)

// Holder is what zkfence stores in its lock node, so that `zkfence status`
// can say who holds the lock and who waits. Curator stores an IP address and
// Kazoo an identifier there; ParseHolder leaves those as raw text.
type Holder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Start   time.Time `json:"start"`
	Version string    `json:"version"`
	// FenceID is the node's name for a fence agent (--fence-id).
	FenceID string `json:"fence_id,omitempty"`
	// HTTP is where other nodes reach its health endpoint (host:port), for
	// the first waiter's fast-takeover probe; "" when it serves none.
	HTTP string `json:"http,omitempty"`
}

// Self describes this process.
func Self(version string) Holder {
	host, _ := os.Hostname()
	return Holder{Host: host, PID: os.Getpid(), Start: time.Now().UTC().Truncate(time.Second), Version: version}
}

// Encode returns the node data.
func (h Holder) Encode() []byte {
	b, _ := json.Marshal(h) // a struct of plain fields cannot fail to encode
	return b
}

// String is the short form used in logs and in ZKFENCE_HOLDER.
func (h Holder) String() string {
	b, _ := json.Marshal(h)
	return string(b)
}

// ParseHolder decodes zkfence node data; ok is false for other clients' data.
func ParseHolder(data []byte) (Holder, bool) {
	var h Holder
	if err := json.Unmarshal(data, &h); err != nil || h.Host == "" {
		return Holder{}, false
	}
	return h, true
}
