package store

import (
	"encoding/json"
	"sort"
	"time"
)

// ContainerKey is what orders a listing of containers: a record's ID and
// creation time, without its config.
type ContainerKey struct {
	ID      string
	Created time.Time
}

// ContainerKeys lists every container record's key, newest first, in the
// order Containers lists the records (same input order, same sort). It
// decodes only those two fields of each record: a listing sorts these
// small keys and then reads one whole record at a time, rather than
// holding every record (with its environment and labels) at once.
func (s *Store) ContainerKeys() ([]ContainerKey, error) {
	var out []ContainerKey
	err := s.eachContainerRecord(func(id string, data []byte) {
		var k struct {
			Created time.Time `json:"created"`
		}
		if json.Unmarshal(data, &k) == nil {
			out = append(out, ContainerKey{ID: id, Created: k.Created})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, err
}
