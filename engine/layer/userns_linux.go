package layer

import "github.com/berthkit/berth/internal/userns"

// inUserNS reports whether berth runs in a user namespace (rootless mode),
// where overlayfs marks whiteouts and opaque directories in user.overlay.*.
var inUserNS = userns.Inside
