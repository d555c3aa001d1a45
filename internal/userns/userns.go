// Package userns tells whether berth runs inside a user namespace (rootless
// mode). The layer, snapshot and runtime packages ask it; it imports
// nothing of berth's, so any of them may.
package userns

import (
	"os"
	"strings"
	"sync"
)

// Inside reports whether this process runs in a user namespace other than
// the host's: its UID map is not the identity over all IDs. There overlayfs
// keeps whiteouts and opaque markers in user.overlay.* xattrs (the
// userxattr mount option), since trusted.* needs real root. Off Linux, and
// on a kernel without /proc/self/uid_map, it is false. Inside reads the
// map once: the layer and snapshot code ask it per file and per mount, in
// processes that never change namespace.
var Inside = sync.OnceValue(current)

// current is Inside's answer, read from /proc/self/uid_map.
func current() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	return !isIdentityMap(string(b))
}

// isIdentityMap says whether a uid_map is the host's: 0 0 4294967295.
func isIdentityMap(uidMap string) bool {
	f := strings.Fields(uidMap)
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}
