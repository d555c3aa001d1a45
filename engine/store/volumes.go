package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/berthkit/berth/engine/volume"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// validVolumeName is Docker's rule for a local volume's name (the one
// `volume create` and -v apply), checked again here: it never holds a slash
// or starts with a dot, so a name is always one directory under volumes/.
func validVolumeName(name string) bool { return volume.ValidateName(name) == nil }

// Volume is a named (or anonymous) local volume: a directory
// volumes/<name>/_data that containers bind-mount, and its record
// volumes/<name>/volume.json. It outlives the containers that use it.
type Volume struct {
	Name      string            `json:"name"`
	Driver    string            `json:"driver"`
	CreatedAt time.Time         `json:"created_at"`
	Labels    map[string]string `json:"labels,omitempty"`
	Options   map[string]string `json:"options,omitempty"`
	// Mountpoint is the host directory holding the data (not stored: it
	// follows the store's root).
	Mountpoint string `json:"-"`
}

// MountPoint is one mount of a container, recorded at create: what
// inspect's Mounts shows and what the runtime binds at start.
type MountPoint struct {
	Type        string `json:"type"`           // "bind", "volume" or "tmpfs"
	Name        string `json:"name,omitempty"` // the volume's name
	Source      string `json:"source"`         // host path (a volume's _data)
	Destination string `json:"destination"`
	Driver      string `json:"driver,omitempty"`
	Mode        string `json:"mode"`
	RW          bool   `json:"rw"`
	Propagation string `json:"propagation"`
	// NoCopy keeps an empty volume empty instead of filling it with the
	// image's content at Destination.
	NoCopy bool `json:"nocopy,omitempty"`
	// CreateSource makes a missing bind source (the -v form).
	CreateSource bool `json:"create_source,omitempty"`
	// Anonymous: the volume was made for this container (rm -v removes it).
	Anonymous bool `json:"anonymous,omitempty"`
	// Data is a tmpfs mount's options ("size=65536k,mode=1777").
	Data string `json:"data,omitempty"`
}

// volumesDir is volumes/ under the root.
func (s *Store) volumesDir() string { return filepath.Join(s.root, "volumes") }

// VolumeDataDir is the directory a volume's content lives in.
func (s *Store) VolumeDataDir(name string) string {
	return filepath.Join(s.volumesDir(), name, "_data")
}

func (s *Store) volumeRecordPath(name string) string {
	return filepath.Join(s.volumesDir(), name, "volume.json")
}

// CreateVolume makes the volume, or returns the existing one of that name
// (as Docker's volume create does). The caller validated the name and
// holds the store's lock.
func (s *Store) CreateVolume(name string, labels, options map[string]string) (*Volume, bool, error) {
	if !validVolumeName(name) {
		return nil, false, fmt.Errorf("create %s: invalid volume name", name)
	}
	if v, err := s.Volume(name); err == nil {
		return v, false, nil
	}
	if err := os.MkdirAll(s.volumesDir(), 0o701); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	// Build it under tmp/ and rename into place: a crash leaves no half
	// volume that lists.
	tmp, err := s.TempDir("volume-")
	if err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	v := &Volume{Name: name, Driver: "local", CreatedAt: time.Now().UTC().Truncate(time.Second), Labels: labels, Options: options}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, false, err
	}
	if err := WriteFileAtomic(filepath.Join(tmp, "volume.json"), data, 0o600); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	if err := os.Chmod(tmp, 0o701); err != nil {
		return nil, false, err
	}
	if err := os.Rename(tmp, filepath.Join(s.volumesDir(), name)); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	v.Mountpoint = s.VolumeDataDir(name)
	return v, true, nil
}

// Volume reads one volume's record.
func (s *Store) Volume(name string) (*Volume, error) {
	if !validVolumeName(name) {
		return nil, &notFoundError{msg: "get " + name + ": no such volume"}
	}
	data, err := os.ReadFile(s.volumeRecordPath(name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &notFoundError{msg: "get " + name + ": no such volume"}
		}
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	var v Volume
	if err := json.Unmarshal(data, &v); err != nil || v.Name != name {
		return nil, fmt.Errorf("get %s: corrupt volume record %s", name, s.volumeRecordPath(name))
	}
	v.Mountpoint = s.VolumeDataDir(name)
	return &v, nil
}

// Volumes lists every volume, by name.
func (s *Store) Volumes() ([]*Volume, error) {
	entries, err := os.ReadDir(s.volumesDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var out []*Volume
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		v, err := s.Volume(e.Name())
		if err != nil {
			continue // a record being written or removed
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteVolume removes the volume and its content. The caller checked it
// is unused and holds the store's lock.
func (s *Store) DeleteVolume(name string) error {
	if _, err := s.Volume(name); err != nil {
		return err
	}
	trash, err := s.TempDir("rm-volume-")
	if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := os.Rename(filepath.Join(s.volumesDir(), name), filepath.Join(trash, "v")); err != nil {
		os.Remove(trash)
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return os.RemoveAll(trash)
}

// VolumeSize is the bytes a volume's content takes (apparent sizes).
func (s *Store) VolumeSize(name string) int64 {
	var n int64
	_ = filepath.WalkDir(s.VolumeDataDir(name), func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
