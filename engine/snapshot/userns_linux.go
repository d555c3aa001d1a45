package snapshot

import "github.com/berthkit/berth/internal/userns"

// inUserNS reports whether berth runs in a user namespace (rootless mode),
// where overlay is mounted with userxattr.
var inUserNS = userns.Inside
