package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/docker/go-units"
)

// ContainerFilterKeys are the `ps --filter` keys Berth understands.
var ContainerFilterKeys = []string{"status", "name", "id", "label", "exited", "volume"}

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
// by key: values of one key are ORed, keys are ANDed, except labels, which
// must all match (docker-compose asks for project=, service= and oneoff=
// at once), as Docker does. The CLI and the daemon share it.
func MatchContainers(byKey map[string][]string) (func(*store.Container) bool, error) {
	for k := range byKey {
		if !IsContainerFilterKey(k) {
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return func(c *store.Container) bool {
		for k, vals := range byKey {
			if k == "label" {
				if !matchAllLabels(c.Config.Labels, vals) {
					return false
				}
				continue
			}
			ok := false
			for _, v := range vals {
				switch k {
				case "status":
					ok = ok || c.State.Status == v
				case "name":
					ok = ok || nameMatches(c.Name, v)
				case "id":
					ok = ok || strings.HasPrefix(c.ID, v)
				case "volume":
					ok = ok || usesVolume(c, v)
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

// usesVolume reports whether the container mounts the volume (by name) or
// anything at the path (a destination), as docker ps --filter volume= does.
func usesVolume(c *store.Container, v string) bool {
	for _, mp := range c.Mounts {
		if mp.Name == v || mp.Destination == v {
			return true
		}
	}
	return false
}

// matchAllLabels reports whether labels has every "key" or "key=value".
func matchAllLabels(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, hasValue := strings.Cut(f, "=")
		have, present := labels[k]
		if !present || (hasValue && have != v) {
			return false
		}
	}
	return true
}

// ContainerStatus is Docker's STATUS column of `ps`: "Up 2 minutes",
// "Up 5 seconds (Paused)", "Exited (0) 3 seconds ago", "Created". The CLI
// and the daemon share it.
func ContainerStatus(st store.ContainerState, now time.Time) string {
	switch st.Status {
	case store.StatusRunning:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt))
	case store.StatusPaused:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case store.StatusExited:
		code := strconv.Itoa(st.ExitCode)
		if !st.ExitKnown {
			code = "unknown"
		}
		return fmt.Sprintf("Exited (%s) %s ago", code, units.HumanDuration(now.Sub(st.FinishedAt)))
	case store.StatusCreated:
		return "Created"
	case store.StatusDead:
		return "Dead"
	}
	return st.Status
}

// nameMatches is Docker's name filter: a regular expression matched against
// the name as the API shows it ("/web"), so "web" matches any name holding
// it and "^/web$" only that one; "^web$" is taken as meant, without the
// slash. A value that is not a valid expression matches as plain text.
func nameMatches(name, v string) bool {
	re, err := regexp.Compile(v)
	if err != nil {
		return strings.Contains(name, strings.TrimPrefix(v, "/"))
	}
	return re.MatchString("/"+name) || re.MatchString(name)
}
