package runtime

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// tmpfsFlags are the mount flags --tmpfs options may set or clear; the
// rest (size, mode, uid, gid, nr_inodes, nr_blocks) go to the filesystem.
var tmpfsFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"rw": {true, unix.MS_RDONLY}, "ro": {false, unix.MS_RDONLY},
	"exec": {true, unix.MS_NOEXEC}, "noexec": {false, unix.MS_NOEXEC},
	"suid": {true, unix.MS_NOSUID}, "nosuid": {false, unix.MS_NOSUID},
	"dev": {true, unix.MS_NODEV}, "nodev": {false, unix.MS_NODEV},
	"atime": {true, unix.MS_NOATIME}, "noatime": {false, unix.MS_NOATIME},
	"diratime": {true, unix.MS_NODIRATIME}, "nodiratime": {false, unix.MS_NODIRATIME},
	"relatime": {false, unix.MS_RELATIME}, "strictatime": {false, unix.MS_STRICTATIME},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS},
}

var tmpfsData = map[string]bool{"size": true, "mode": true, "uid": true, "gid": true, "nr_inodes": true, "nr_blocks": true}

// TmpfsMount turns a --tmpfs entry (a path inside the container and its
// comma-separated options) into the mount the runtime makes. As Docker,
// the mount is noexec,nosuid,nodev unless the options say otherwise.
func TmpfsMount(dest, options string) (Mount, error) {
	m := Mount{Source: "tmpfs", Destination: dest, Type: "tmpfs", Flags: unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV}
	if !path.IsAbs(dest) {
		return m, fmt.Errorf("invalid --tmpfs %s: the mount point must be an absolute path", dest)
	}
	if path.Clean(dest) == "/" {
		return m, fmt.Errorf("invalid --tmpfs %s: the root filesystem cannot be a tmpfs", dest)
	}
	m.Destination = path.Clean(dest)
	// As runc: a tmpfs over /proc or /sys would hide the kernel's files
	// and the masks laid over them.
	for _, kernel := range []string{"/proc", "/sys"} {
		if m.Destination == kernel || strings.HasPrefix(m.Destination, kernel+"/") {
			return m, fmt.Errorf("invalid --tmpfs %s: berth does not mount a tmpfs over %s", dest, kernel)
		}
	}
	var data []string
	for _, o := range strings.Split(options, ",") {
		if o == "" {
			continue
		}
		k, v, hasValue := strings.Cut(o, "=")
		if f, ok := tmpfsFlags[o]; ok {
			if f.clear {
				m.Flags &^= f.flag
			} else {
				m.Flags |= f.flag
			}
			continue
		}
		if !hasValue || !tmpfsData[k] || v == "" || strings.ContainsAny(v, " \t") {
			return m, fmt.Errorf("invalid --tmpfs option %q for %s: berth knows rw, ro, [no]exec, [no]suid, [no]dev, [no]atime, size=, mode=, uid=, gid=, nr_inodes=", o, dest)
		}
		data = append(data, o)
	}
	m.Data = strings.Join(data, ",")
	return m, nil
}
