package marathon

import (
	"fmt"
	"strings"
)

// PersistenceID names a local persistent volume in Mesos and in Marathon's
// task list (LocalVolumeId.idString): the service's path with "/" replaced
// by "_", the volume's container path (app) or name (pod), and a UUID,
// joined by "#". For example "db_postgres#pgdata#53ab8732-fd96-11e5-8e70-76a1c19f8c3d".
//
// Path elements cannot contain "_" or "#" and a UUID cannot contain "#", so
// the service and the UUID are found at the first and the last "#"; the
// volume name is what lies between, even if it contains "#".
type PersistenceID struct {
	ServiceID string // absolute: "/db/postgres"
	Volume    string // container path or pod volume name: "pgdata"
	UUID      string
}

// String formats the ID as Marathon does.
func (p PersistenceID) String() string {
	safe := strings.ReplaceAll(strings.Trim(p.ServiceID, "/"), "/", "_")
	return safe + "#" + p.Volume + "#" + p.UUID
}

// ParsePersistenceID reads an ID formatted by Marathon.
func ParsePersistenceID(s string) (PersistenceID, error) {
	first, last := strings.Index(s, "#"), strings.LastIndex(s, "#")
	if first <= 0 || last == first || last == len(s)-1 || last-first < 2 {
		return PersistenceID{}, fmt.Errorf("%w: persistence ID %q: want <service_path>#<volume>#<uuid>", ErrBadInput, s)
	}
	service := s[:first]
	for _, elem := range strings.Split(service, "_") {
		if !pathSegment.MatchString(elem) {
			return PersistenceID{}, fmt.Errorf("%w: persistence ID %q: %q is not a service path", ErrBadInput, s, service)
		}
	}
	return PersistenceID{
		ServiceID: "/" + strings.ReplaceAll(service, "_", "/"),
		Volume:    s[first+1 : last],
		UUID:      s[last+1:],
	}, nil
}
