package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/berthkit/berth/internal/crashpoint"
)

// The container name index: container-names/<name> is a symbolic link
// whose target is the ID of the container that has the name. It answers
// "who has this name" in one readlink and one record read, where a scan
// of every record cost a file read per container on every create.
//
// The records stay the truth. An entry counts only if the container it
// names exists and its record has that name; any other entry is stale and
// free to take. So the index is written in the order that makes a crash
// harmless: a name's entry is made (under the names lock) before the
// record that carries the name, and removed after the record is gone (rm)
// or no longer carries it (rename). A crash between the two steps leaves
// a stale entry, never a record whose name another container can claim.
//
// A store made before the index existed has no container-names/: the
// first claim builds it from the records, under the lock, in tmp/ and
// renames it into place; until then lookups scan the records as before.

const (
	containerNamesDir = "container-names"
	namesLock         = "names.lock"
	// maxNameEntry is the longest name kept as its own entry; a longer
	// one (Docker sets no limit) is filed under "~" and its SHA-256,
	// which no valid name can spell ("~" is not allowed in names).
	maxNameEntry = 128
)

// ErrInvalidName is (errors.Is) a container name Docker would refuse.
var ErrInvalidName = errors.New("invalid container name")

// ValidContainerName reports whether name is one Docker accepts:
// [a-zA-Z0-9][a-zA-Z0-9_.-]+ (without the leading "/").
func ValidContainerName(name string) bool {
	if len(name) < 2 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// nameEntryPath is the index entry of name. Names are checked first:
// a valid one holds no separator and is never "." or "..", and the
// result is checked to sit directly in the index, as securejoin would.
func (s *Store) nameEntryPath(name string) (string, error) {
	if !ValidContainerName(name) {
		return "", fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	entry := name
	if len(name) > maxNameEntry {
		sum := sha256.Sum256([]byte(name))
		entry = "~" + hex.EncodeToString(sum[:])
	}
	dir := filepath.Join(s.root, containerNamesDir)
	p := filepath.Join(dir, entry)
	if filepath.Dir(p) != dir || filepath.Base(p) != entry {
		return "", fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	return p, nil
}

// nameHolder is the container the entry at p gives name to, if the
// entry counts: its target is a container ID whose record exists and has
// that name. Otherwise (no entry, a stale or foreign one) it returns nil.
func (s *Store) nameHolder(p, name string) (*Container, error) {
	target, err := os.Readlink(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.EINVAL) {
			return nil, nil // no entry, or not a link: stale
		}
		return nil, fmt.Errorf("container name %s: %w", name, err)
	}
	if len(target) != 64 || !isHex(target) {
		return nil, nil
	}
	c, err := s.ReadContainer(target)
	if err != nil || c.Name != name {
		// Gone, being removed, renamed, or a damaged record (which no
		// listing shows): the name is free, as the scan found it.
		return nil, nil
	}
	return c, nil
}

// lockNames takes the names lock: claims, releases and the index's
// building take it. A claim takes it inside the store's lock (Lock);
// nothing holding it takes the store's lock, so the two never deadlock.
func (s *Store) lockNames() (func(), error) {
	return s.lockFile(namesLock)
}

// ClaimContainerName makes name the container id's in the index, if no
// other container has it; it returns the holder's ID (and claims
// nothing) if one does. The caller holds the store's lock (Lock), writes
// the record with the name next, and releases the claim if it cannot.
func (s *Store) ClaimContainerName(name, id string) (holder string, err error) {
	p, err := s.nameEntryPath(name)
	if err != nil {
		return "", err
	}
	unlock, err := s.lockNames()
	if err != nil {
		return "", err
	}
	defer unlock()
	if err := s.ensureNameIndex(); err != nil {
		return "", err
	}
	if target, err := os.Readlink(p); err == nil && target == id {
		return "", nil
	}
	c, err := s.nameHolder(p, name)
	if err != nil {
		return "", err
	}
	if c != nil {
		return c.ID, nil
	}
	// Free: a stale entry gives way (a crash between the entry and the
	// record, a removal or rename cut short).
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("container name %s: %w", name, err)
	}
	if err := os.Symlink(id, p); err != nil {
		return "", fmt.Errorf("container name %s: %w", name, err)
	}
	crashpoint.Hit("name.claimed")
	return "", nil
}

// ReleaseContainerName removes name's entry if it points at id: a rename
// that moved the container to another name, a claim whose record could
// not be written. An entry of another container is left alone.
func (s *Store) ReleaseContainerName(name, id string) error {
	p, err := s.nameEntryPath(name)
	if err != nil {
		return nil // never claimed
	}
	unlock, err := s.lockNames()
	if err != nil {
		return err
	}
	defer unlock()
	if target, err := os.Readlink(p); err != nil || target != id {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release container name %s: %w", name, err)
	}
	return nil
}

// releaseRemovedName releases the name of a container whose directory was
// just renamed to trash, read from the record there.
func (s *Store) releaseRemovedName(id, trash string) error {
	data, err := readFile(filepath.Join(trash, "config.json"))
	if err != nil {
		return nil // no record: no name was ever carried
	}
	var rec struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(data, &rec) != nil {
		return nil
	}
	return s.ReleaseContainerName(rec.Name, id)
}

// containerByName finds the container named name through the index.
// indexed is false on a store without the index (made by an older
// Berth): the caller then scans the records.
func (s *Store) containerByName(name string) (c *Container, indexed bool, err error) {
	if fi, err := os.Lstat(filepath.Join(s.root, containerNamesDir)); err != nil || !fi.IsDir() {
		return nil, false, nil
	}
	p, err := s.nameEntryPath(name)
	if err != nil {
		return nil, true, nil // no container can have it
	}
	c, err = s.nameHolder(p, name)
	return c, true, err
}

// ensureNameIndex builds the index from the records when the store has
// none; the caller holds the names lock. It is built in tmp/ and renamed
// into place, so the index is whole or absent, and a crash midway leaves
// a directory in tmp/ for the next command alone on the store.
func (s *Store) ensureNameIndex() error {
	dir := filepath.Join(s.root, containerNamesDir)
	if fi, err := os.Lstat(dir); err == nil {
		if fi.IsDir() {
			return nil
		}
		// Not Berth's (its name is reserved in the root): replaced.
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("build container name index: %w", err)
		}
	}
	tmp, err := s.TempDir("names-")
	if err != nil {
		return fmt.Errorf("build container name index: %w", err)
	}
	names, err := s.ContainerNames()
	for name, id := range names {
		if err != nil {
			break
		}
		p, perr := s.nameEntryPath(name)
		if perr != nil {
			continue // a name Berth never gave: nobody can claim it either
		}
		err = os.Symlink(id, filepath.Join(tmp, filepath.Base(p)))
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("build container name index: %w", err)
	}
	return nil
}

// rebuildNameIndex replaces the index with one built from the records:
// `image validate --repair` calls it, for an entry a power cut lost
// on a file system that does not keep metadata in order, or an older
// Berth's containers. The caller holds the store's lock. While the old
// index is away lookups scan the records, which is never wrong.
func (s *Store) rebuildNameIndex() error {
	unlock, err := s.lockNames()
	if err != nil {
		return err
	}
	defer unlock()
	dir := filepath.Join(s.root, containerNamesDir)
	old := filepath.Join(s.TmpDir(), "names-old-"+RandomID()[:16])
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rebuild container name index: %w", err)
	}
	_ = os.RemoveAll(old)
	return s.ensureNameIndex()
}
