package runtime

import (
	"os"
	"strings"
)

// IDMaps returns this process's UID and GID maps as the kernel shows them
// ("0 1001 1; 1 100000 65536"), for `berth info`.
func IDMaps() (uids, gids string) {
	read := func(f string) string {
		b, _ := os.ReadFile(f)
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		return strings.Join(lines, "; ")
	}
	return read("/proc/self/uid_map"), read("/proc/self/gid_map")
}
