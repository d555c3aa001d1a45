package network

import (
	"fmt"
	"strings"
)

// Filter builds a matcher from docker network ls --filter values
// (key=value): name (substring, as Docker), id (prefix), driver, type
// (custom or builtin), label (key or key=value). Values of one key are
// alternatives; keys must all match. Other keys are refused.
func Filter(filters []string) (func(*Network) bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		switch k {
		case "name", "id", "driver", "label":
		case "type":
			if v != "custom" && v != "builtin" {
				return nil, fmt.Errorf("invalid filter: 'type'='%s'", v)
			}
		default:
			return nil, fmt.Errorf("invalid filter '%s': berth filters networks by name, id, driver, type and label", k)
		}
		byKey[k] = append(byKey[k], v)
	}
	return func(n *Network) bool {
		for k, vals := range byKey {
			ok := false
			for _, v := range vals {
				ok = ok || matchOne(n, k, v)
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}

func matchOne(n *Network, k, v string) bool {
	switch k {
	case "name":
		return strings.Contains(n.Name, v)
	case "id":
		return strings.HasPrefix(n.ID, v)
	case "driver":
		return n.Driver == v
	case "type":
		return (v == "custom") == n.UserDefined()
	case "label":
		lk, lv, hasValue := strings.Cut(v, "=")
		got, ok := n.Labels[lk]
		return ok && (!hasValue || got == lv)
	}
	return false
}
