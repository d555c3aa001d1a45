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

// ReadContainersOnce reads every container record once, in the order
// ContainerKeys reads them, and calls visit with each decoded record, or
// with nil for a damaged one whose creation time alone decodes (which
// ReadContainer would refuse). It returns the visits' indices newest
// first: the order ContainerKeys gives (the same keys, the same sort, so
// ties come out alike). A listing that keeps a few bytes per record (its
// rendered line) reads each record once this way, where ContainerKeys
// and ReadContainer read it twice. An error of visit stops the walk.
func (s *Store) ReadContainersOnce(visit func(c *Container) error) ([]int, error) {
	type key struct {
		created time.Time
		visit   int
	}
	var keys []key
	var stop error
	err := s.eachContainerRecord(func(_ string, data []byte) {
		if stop != nil {
			return
		}
		var c Container
		if err := json.Unmarshal(data, &c); err != nil {
			var k struct {
				Created time.Time `json:"created"`
			}
			if json.Unmarshal(data, &k) != nil {
				return // ContainerKeys leaves it out too
			}
			c.Created = k.Created
			stop = visit(nil)
		} else {
			stop = visit(&c)
		}
		keys = append(keys, key{created: c.Created, visit: len(keys)})
	})
	if stop != nil {
		return nil, stop
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].created.After(keys[j].created) })
	order := make([]int, len(keys))
	for i, k := range keys {
		order[i] = k.visit
	}
	return order, err
}
