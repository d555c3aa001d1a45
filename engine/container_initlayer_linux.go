package engine

import (
	"strings"

	"github.com/berthkit/berth/engine/runtime"
	"github.com/opencontainers/go-digest"
)

// initLayerName names the store's init layer, the lower dir of mount
// points every container shares, after its entries: a berth whose runtime
// needs other mount points makes a new one instead of reusing the old.
var initLayerName = "init-" + digest.FromString(strings.Join(runtime.InitLayer, "\n")).Encoded()[:12]
