package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/berthkit/berth/engine/store"
)

// ContainerFilterKeys are the `ps --filter` keys Berth understands.
var ContainerFilterKeys = []string{"status", "name", "id", "label", "exited"}

// IsContainerFilterKey reports whether k is one of ContainerFilterKeys.
func IsContainerFilterKey(k string) bool {
	for _, known := range ContainerFilterKeys {
		if k == known {
			return true
		}
	}
	return false
}

// MatchContainers returns a matcher for `docker ps --filter` values, given
// by key: values of one key are ORed, keys are ANDed, as Docker does. The
// CLI and the daemon share it.
func MatchContainers(byKey map[string][]string) (func(*store.Container) bool, error) {
	for k := range byKey {
		if !IsContainerFilterKey(k) {
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return func(c *store.Container) bool {
		for k, vals := range byKey {
			ok := false
			for _, v := range vals {
				switch k {
				case "status":
					ok = ok || c.State.Status == v
				case "name":
					ok = ok || strings.Contains(c.Name, strings.TrimPrefix(v, "/"))
				case "id":
					ok = ok || strings.HasPrefix(c.ID, v)
				case "label":
					lk, lv, hasValue := strings.Cut(v, "=")
					have, present := c.Config.Labels[lk]
					ok = ok || (present && (!hasValue || have == lv))
				case "exited":
					ok = ok || (c.State.Status == store.StatusExited && strconv.Itoa(c.State.ExitCode) == v)
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}
