package volume

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/internal/lazyre"
)

// Mount types, as Docker names them.
const (
	TypeBind   = "bind"
	TypeVolume = "volume"
	TypeTmpfs  = "tmpfs"
)

// AnonymousLabel marks a volume created for one container (an image's
// VOLUME, or -v /path without a name); Docker 23+ sets the same label, and
// prune removes only such volumes unless asked for all.
const AnonymousLabel = "com.docker.volume.anonymous"

// Mount is one parsed mount request.
type Mount struct {
	// Type is TypeBind, TypeVolume or TypeTmpfs.
	Type string
	// Source is the host path of a bind, the name of a volume ("" for an
	// anonymous volume), empty for tmpfs.
	Source string
	// Target is the absolute path inside the container.
	Target   string
	ReadOnly bool
	// Mode is the -v mode string as given ("ro", "rw,nocopy", "").
	Mode string
	// NoCopy skips copying the image's content into an empty volume.
	NoCopy bool
	// Propagation is a bind's propagation ("rprivate" by default).
	Propagation string
	// CreateSource says a missing bind source is created (the -v form);
	// --mount refuses it instead.
	CreateSource bool
	// TmpfsSize (bytes) and TmpfsMode are --mount's tmpfs-size and
	// tmpfs-mode.
	TmpfsSize int64
	TmpfsMode uint32
}

// ErrInvalid marks every parse and validation error.
var ErrInvalid = errdefs.New(errdefs.InvalidParameter, "invalid mount")

type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Is(t error) bool {
	return t == ErrInvalid
}

// Errorf makes an error worded as given that is ErrInvalid.
func Errorf(format string, args ...any) error { return invalidf(format, args...) }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

var nameRE = lazyre.New(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ValidateName checks a local volume's name as Docker does.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return invalidf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name)
	}
	return nil
}

// ParseVolume parses -v's form: [SOURCE:]TARGET[:MODE], where an absolute
// SOURCE is a host path (a bind) and anything else a volume name; no
// SOURCE is an anonymous volume.
func ParseVolume(raw string) (Mount, error) {
	bad := invalidf("invalid volume specification: '%s'", raw)
	if raw == "" {
		return Mount{}, bad
	}
	arr := strings.Split(raw, ":")
	var m Mount
	switch len(arr) {
	case 1:
		m.Target = arr[0]
	case 2:
		if validMode(arr[1]) {
			// "/foo:ro" names no source: an anonymous volume takes no mode.
			return Mount{}, bad
		}
		m.Source, m.Target = arr[0], arr[1]
	case 3:
		m.Source, m.Target, m.Mode = arr[0], arr[1], arr[2]
	default:
		return Mount{}, bad
	}
	if !validMode(m.Mode) {
		return Mount{}, invalidf("invalid mode: %s", m.Mode)
	}
	m.Type = TypeVolume
	if path.IsAbs(m.Source) {
		m.Type = TypeBind
		m.CreateSource = true
	}
	for _, o := range strings.Split(m.Mode, ",") {
		switch {
		case o == "ro":
			m.ReadOnly = true
		case o == "nocopy":
			m.NoCopy = true
		case propagations[o]:
			m.Propagation = o
		}
	}
	if m.Type == TypeVolume && m.Propagation != "" {
		return Mount{}, invalidf("%v: invalid mount config for type %q: field BindOptions must not be specified", bad, m.Type)
	}
	if err := m.Validate(); err != nil {
		return Mount{}, &invalidError{msg: bad.Error() + ": " + err.Error()}
	}
	return m, nil
}

var propagations = map[string]bool{
	"shared": true, "rshared": true, "slave": true, "rslave": true, "private": true, "rprivate": true,
}

// validMode reports whether mode is a valid -v mode list: at most one of
// rw/ro, one propagation, one of z/Z, one copy mode, consistency flags.
func validMode(mode string) bool {
	if mode == "" {
		return true
	}
	counts := map[string]int{}
	for _, o := range strings.Split(mode, ",") {
		switch {
		case o == "rw" || o == "ro":
			counts["rw"]++
		case o == "z" || o == "Z":
			counts["label"]++
		case propagations[o]:
			counts["propagation"]++
		case o == "nocopy" || o == "copy":
			counts["copy"]++
		case o == "consistent" || o == "cached" || o == "delegated":
			counts["consistency"]++
		default:
			return false
		}
	}
	for _, n := range counts {
		if n > 1 {
			return false
		}
	}
	return true
}

// ParseMount parses --mount's comma-separated key=value form. Unknown keys
// are refused by name, as the docker CLI does.
func ParseMount(raw string) (Mount, error) {
	m := Mount{Type: TypeVolume}
	var volumeOpts, bindOpts, tmpfsOpts []string
	for _, field := range strings.Split(raw, ",") {
		if field == "" {
			continue
		}
		key, val, hasVal := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !hasVal {
			switch key {
			case "readonly", "ro", "volume-nocopy", "bind-nonrecursive":
				val = "true"
			default:
				return Mount{}, invalidf("invalid field '%s' must be a key=value pair", field)
			}
		}
		var err error
		switch key {
		case "type":
			m.Type = strings.ToLower(val)
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			m.ReadOnly, err = parseBool(field, val)
		case "consistency":
		case "bind-propagation":
			if !propagations[val] {
				return Mount{}, invalidf("invalid value for %s: %s", key, val)
			}
			m.Propagation = val
			bindOpts = append(bindOpts, key)
		case "volume-nocopy":
			m.NoCopy, err = parseBool(field, val)
			volumeOpts = append(volumeOpts, key)
		case "tmpfs-size":
			m.TmpfsSize, err = strconv.ParseInt(val, 10, 64)
			tmpfsOpts = append(tmpfsOpts, key)
		case "tmpfs-mode":
			var mode uint64
			mode, err = strconv.ParseUint(val, 8, 32)
			m.TmpfsMode = uint32(mode)
			tmpfsOpts = append(tmpfsOpts, key)
		case "bind-nonrecursive", "bind-recursive", "volume-subpath", "volume-label", "volume-driver", "volume-opt", "image-subpath":
			return Mount{}, invalidf("mount option %s is not supported by berth", key)
		default:
			return Mount{}, invalidf("unexpected key '%s' in '%s'", key, field)
		}
		if err != nil {
			return Mount{}, invalidf("invalid value for %s: %s", key, val)
		}
	}
	if err := mixCheck(m.Type, volumeOpts, bindOpts, tmpfsOpts); err != nil {
		return Mount{}, err
	}
	if err := m.Validate(); err != nil {
		return Mount{}, err
	}
	return m, nil
}

func parseBool(field, val string) (bool, error) {
	switch strings.ToLower(val) {
	case "", "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, invalidf("invalid value for %s", field)
}

// mixCheck refuses options of another mount type, with docker's words.
func mixCheck(typ string, volumeOpts, bindOpts, tmpfsOpts []string) error {
	if typ != TypeVolume && len(volumeOpts) > 0 {
		return invalidf("cannot mix 'volume-*' options with mount type '%s'", typ)
	}
	if typ != TypeBind && len(bindOpts) > 0 {
		return invalidf("cannot mix 'bind-*' options with mount type '%s'", typ)
	}
	if typ != TypeTmpfs && len(tmpfsOpts) > 0 {
		return invalidf("cannot mix 'tmpfs-*' options with mount type '%s'", typ)
	}
	return nil
}

// Validate checks a mount the way the Docker daemon's Linux parser does,
// with its wording: `invalid mount config for type "bind": ...`.
func (m Mount) Validate() error {
	cfg := func(err string) error {
		return invalidf("invalid mount config for type %q: %s", m.Type, err)
	}
	if m.Target == "" {
		return cfg("field Target must not be empty")
	}
	if path.Clean(m.Target) == "/" {
		return invalidf("invalid specification: destination can't be '/'")
	}
	if !path.IsAbs(m.Target) {
		return cfg(fmt.Sprintf("invalid mount path: '%s' mount path must be absolute", m.Target))
	}
	switch m.Type {
	case TypeBind:
		if m.Source == "" {
			return cfg("field Source must not be empty")
		}
		if !path.IsAbs(m.Source) {
			return cfg(fmt.Sprintf("invalid mount path: '%s' mount path must be absolute", m.Source))
		}
	case TypeVolume:
		if m.Source == "" && m.ReadOnly {
			return cfg("must not set ReadOnly mode when using anonymous volumes")
		}
	case TypeTmpfs:
		if m.Source != "" {
			return cfg("field Source must not be specified")
		}
	case "":
		return invalidf("invalid mount config: type is required")
	default:
		return cfg("mount type unknown")
	}
	return nil
}

// ParseVolumesFrom splits --volumes-from's "CONTAINER[:ro|rw]".
func ParseVolumesFrom(spec string) (container, mode string, err error) {
	container, mode, _ = strings.Cut(spec, ":")
	switch mode {
	case "", "rw", "ro":
	default:
		return "", "", invalidf("invalid mode for volumes-from: %s", mode)
	}
	if container == "" {
		return "", "", invalidf("invalid volumes-from specification: '%s'", spec)
	}
	return container, mode, nil
}
