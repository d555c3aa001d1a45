package layer

import (
	"os"
	"strings"
	"sync"
)

// inUserNS reports whether berth runs in a user namespace (rootless mode).
// There overlayfs keeps its whiteout and opaque markers in user.overlay.*
// xattrs (the userxattr mount option): trusted.* needs real root.
var inUserNS = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
})
