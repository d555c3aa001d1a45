package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MaxLayers is overlayfs's limit on lower layers (OVL_MAX_STACK).
const MaxLayers = 500

// maxOptionBytes is what mount(2) copies of the option string: one page,
// including the terminating NUL.
var maxOptionBytes = os.Getpagesize() - 1

// Mount is one mount(2) call, as containerd's mount.Mount describes it.
type Mount struct {
	Type   string // "overlay"
	Source string // "overlay"
	// Options are the comma-separated parts of mount(2)'s data argument.
	Options []string
	// Dir is the directory that relative paths in Options are resolved
	// against: the mount must run with Dir as its working directory.
	// MountAt does that.
	Dir string
}

// Data is the data argument of mount(2): Options joined by commas.
func (m Mount) Data() string { return strings.Join(m.Options, ",") }

// Snapshotter keeps the snapshots under one directory: containers/ of a
// Berth root. Each key (a container ID) owns the subdirectory of that name.
// Snapshotter holds no state in memory; any number of processes may use the
// same directory, one key at a time.
type Snapshotter struct {
	dir string
}

// New returns a Snapshotter over dir, which must be an absolute path.
func New(dir string) *Snapshotter { return &Snapshotter{dir: filepath.Clean(dir)} }

// Dir is the directory of key's snapshot: containers/<key>.
func (s *Snapshotter) Dir(key string) string { return filepath.Join(s.dir, key) }

// UpperDir holds key's changes over its lower dirs.
func (s *Snapshotter) UpperDir(key string) string { return filepath.Join(s.dir, key, "upper") }

// WorkDir is overlayfs's scratch directory for key.
func (s *Snapshotter) WorkDir(key string) string { return filepath.Join(s.dir, key, "work") }

// MergedDir is where key's union is mounted.
func (s *Snapshotter) MergedDir(key string) string { return filepath.Join(s.dir, key, "merged") }

func (s *Snapshotter) linkDir(key string) string  { return filepath.Join(s.dir, key, "l") }
func (s *Snapshotter) emptyDir(key string) string { return filepath.Join(s.dir, key, "empty") }

func checkKey(key string) error {
	if key == "" || key == "." || key == ".." || strings.ContainsAny(key, "/\x00") {
		return fmt.Errorf("snapshot key %q is not a plain file name", key)
	}
	return nil
}

// Prepare creates key's writable snapshot over lowerDirs (absolute paths,
// top layer first; none means an empty lower) and returns the mounts that
// assemble it. Nothing is mounted yet. Preparing a key that exists is an
// error wrapping os.ErrExist.
func (s *Snapshotter) Prepare(key string, lowerDirs []string) (_ []Mount, err error) {
	if err := checkLowers(key, lowerDirs); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Dir(key), 0o700); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", short(key), err)
	}
	if _, err := os.Lstat(s.UpperDir(key)); err == nil {
		return nil, fmt.Errorf("snapshot %s: %w", short(key), os.ErrExist)
	}
	defer func() {
		if err != nil {
			s.removeParts(key)
		}
	}()
	if err := makeParts(s.Dir(key)); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", short(key), err)
	}
	return s.link(key, lowerDirs)
}

// Stage makes a snapshot's directories ahead of its key and lower dirs, in
// dir, which must not exist and must be on the snapshots' file system (the
// store's tmp/): PrepareStaged moves them into place. A failure leaves no
// dir.
func Stage(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if err := makeParts(dir); err != nil {
		os.RemoveAll(dir)
		return err
	}
	return nil
}

// PrepareStaged is Prepare with the directories made ahead by Stage in
// staged, which becomes key's directory with one rename: only the lower
// links are made here. A key that exists is an error wrapping
// os.ErrExist, and staged is left where it is.
func (s *Snapshotter) PrepareStaged(key, staged string, lowerDirs []string) (_ []Mount, err error) {
	if err := checkLowers(key, lowerDirs); err != nil {
		return nil, err
	}
	// rename(2) puts a directory over an empty one: make sure there is
	// none, as Prepare refuses a key whose upper dir exists.
	if _, err := os.Lstat(s.Dir(key)); err == nil {
		return nil, fmt.Errorf("snapshot %s: %w", short(key), os.ErrExist)
	}
	if err := os.Rename(staged, s.Dir(key)); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", short(key), err)
	}
	defer func() {
		if err != nil {
			s.removeParts(key)
		}
	}()
	return s.link(key, lowerDirs)
}

// checkLowers checks key and the lower dirs a snapshot is prepared over.
func checkLowers(key string, lowerDirs []string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(lowerDirs) > MaxLayers {
		return fmt.Errorf("snapshot %s: %d layers is over overlayfs's limit of %d lower layers: squash the image (berth export | berth import) to fewer layers",
			short(key), len(lowerDirs), MaxLayers)
	}
	for _, d := range lowerDirs {
		if !filepath.IsAbs(d) {
			return fmt.Errorf("snapshot %s: lower dir %q is not an absolute path", short(key), d)
		}
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("snapshot %s: layer directory %s is missing or unreadable (%w): remove the image and pull or build it again", short(key), d, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("snapshot %s: layer %s is not a directory: remove the image and pull or build it again", short(key), d)
		}
	}
	return nil
}

// makeParts makes a snapshot's upper, work, merged and l directories in
// dir. upper is the root directory of the container: 0755 like any /.
func makeParts(dir string) error {
	for _, d := range []string{"upper", "work", "merged", "l"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// link makes key's links to its lower dirs (an empty dir of its own for
// none) and returns its mounts.
func (s *Snapshotter) link(key string, lowerDirs []string) ([]Mount, error) {
	if len(lowerDirs) == 0 {
		if err := os.Mkdir(s.emptyDir(key), 0o755); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", short(key), err)
		}
		lowerDirs = []string{s.emptyDir(key)}
	}
	for i, d := range lowerDirs {
		if err := os.Symlink(d, filepath.Join(s.linkDir(key), strconv.Itoa(i))); err != nil {
			return nil, fmt.Errorf("snapshot %s: link lower dir: %w", short(key), err)
		}
	}
	// The links were just made: no need to read l/ back (Mounts does).
	return s.mounts(key, len(lowerDirs))
}

// LowerDirs returns the lower dirs key was prepared with, top first. An
// empty lower is returned as no dirs.
func (s *Snapshotter) LowerDirs(key string) ([]string, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.linkDir(key))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("snapshot %s: %w", short(key), os.ErrNotExist)
		}
		return nil, fmt.Errorf("snapshot %s: %w", short(key), err)
	}
	type link struct {
		n      int
		target string
	}
	links := make([]link, 0, len(entries))
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join(s.linkDir(key), e.Name()))
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", short(key), err)
		}
		links = append(links, link{n, target})
	}
	sort.Slice(links, func(i, j int) bool { return links[i].n < links[j].n })
	out := make([]string, 0, len(links))
	for _, l := range links {
		if l.target == s.emptyDir(key) {
			continue
		}
		out = append(out, l.target)
	}
	return out, nil
}

// Mounts returns the mounts that assemble key's snapshot. The options name
// the lower dirs through l/<n> and the upper and work dirs relatively, so
// they must be mounted with Dir as the working directory (see MountAt).
func (s *Snapshotter) Mounts(key string) ([]Mount, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.linkDir(key))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("snapshot %s: %w", short(key), os.ErrNotExist)
		}
		return nil, fmt.Errorf("snapshot %s: %w", short(key), err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("snapshot %s has no lower dirs: remove the container and create it again", short(key))
	}
	return s.mounts(key, n)
}

// mounts is the overlay mount of key over its n lower dirs, l/0 to l/n-1.
func (s *Snapshotter) mounts(key string, n int) ([]Mount, error) {
	lowers := make([]string, n)
	for i := range lowers {
		lowers[i] = "l/" + strconv.Itoa(i)
	}
	opts := []string{
		"lowerdir=" + strings.Join(lowers, ":"),
		"upperdir=upper",
		"workdir=work",
	}
	if indexEnabled() {
		// The index would tie upper to these exact lower dirs; a container
		// whose layers were unpacked again must still mount.
		opts = append(opts, "index=off")
	}
	if inUserNS() {
		opts = append(opts, "userxattr")
	}
	m := Mount{Type: "overlay", Source: "overlay", Options: opts, Dir: s.Dir(key)}
	if useFuse() {
		m.Type = FuseType
	}
	if size := len(m.Data()); size > maxOptionBytes {
		return nil, fmt.Errorf("snapshot %s: overlay options for %d layers take %d bytes, over mount(2)'s one-page limit of %d bytes: squash the image to fewer layers",
			short(key), n, size, maxOptionBytes)
	}
	return []Mount{m}, nil
}

var indexEnabled = sync.OnceValue(func() bool {
	data, err := os.ReadFile("/sys/module/overlay/parameters/index")
	return err == nil && strings.TrimSpace(string(data)) == "Y"
})

// Mount mounts key's snapshot on the host at MergedDir(key) and returns that
// path. A snapshot already mounted there is left as it is.
func (s *Snapshotter) Mount(key string) (string, error) {
	mounts, err := s.Mounts(key)
	if err != nil {
		return "", err
	}
	target := s.MergedDir(key)
	if mounted, err := isMountPoint(target); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", short(key), err)
	} else if mounted {
		return target, nil
	}
	for _, m := range mounts {
		if err := MountAt(m, target); err != nil {
			return "", fmt.Errorf("snapshot %s: %w", short(key), err)
		}
	}
	return target, nil
}

// Unmount unmounts key's snapshot from MergedDir(key). Not mounted is
// success. A busy mount is detached: it disappears once its last user goes.
func (s *Snapshotter) Unmount(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := unmountAll(s.MergedDir(key)); err != nil {
		return fmt.Errorf("snapshot %s: %w", short(key), err)
	}
	return nil
}

// IsMounted reports whether key's snapshot is mounted on the host.
func (s *Snapshotter) IsMounted(key string) bool {
	mounted, _ := isMountPoint(s.MergedDir(key))
	return mounted
}

// Remove unmounts key's snapshot and deletes its upper, work, merged and
// link dirs. The key's directory itself goes too when nothing else (the
// container's record) is left in it. A missing snapshot is success.
func (s *Snapshotter) Remove(key string) error {
	if err := s.Unmount(key); err != nil {
		return err
	}
	if err := s.removeParts(key); err != nil {
		return fmt.Errorf("snapshot %s: %w", short(key), err)
	}
	return nil
}

func (s *Snapshotter) removeParts(key string) error {
	var first error
	for _, d := range []string{s.UpperDir(key), s.WorkDir(key), s.MergedDir(key), s.linkDir(key), s.emptyDir(key)} {
		if err := os.RemoveAll(d); err != nil && first == nil {
			first = err
		}
	}
	if err := os.Remove(s.Dir(key)); err != nil && !errors.Is(err, os.ErrNotExist) && !isNotEmpty(err) && first == nil {
		first = err
	}
	return first
}

func short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}
