package lessons

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// BaseProfile is how a lesson adapts to the base image it builds on. The
// notes use alpine; offline, busybox or debian keep every point true.
type BaseProfile struct {
	Name string // busybox, alpine, debian
	// Ref is what FROM says ({{base}}).
	Ref string
	// Install maps a program the notes install to the RUN command that
	// installs it on this base ({{install redis}}).
	Install map[string]string
	// Adapt says, in one paragraph, what the lesson does differently on
	// this base and why the notes' points still hold.
	Adapt string
}

// busyboxRedis installs a stand-in the way a package would: it creates a
// folder and puts an executable on the PATH. Every file is real, so the
// snapshot, the layer and the cache behave exactly as with a package manager.
const busyboxRedis = `echo installing redis && mkdir -p /var/lib/redis && printf '#!/bin/sh\necho "redis-server (stand-in): ready to accept connections"\n' > /usr/local/bin/redis-server && chmod +x /usr/local/bin/redis-server`

// busyboxGcc is the compiler's stand-in, for the cache lesson's extra line.
const busyboxGcc = `echo installing gcc && printf '#!/bin/sh\necho "gcc (stand-in)"\n' > /usr/local/bin/gcc && chmod +x /usr/local/bin/gcc`

var baseProfiles = map[string]*BaseProfile{
	"alpine": {
		Name: "alpine", Ref: "alpine",
		Install: map[string]string{
			"redis": "apk add --update redis",
			"gcc":   "apk add --update gcc",
		},
		Adapt: "This is the notes' own base: alpine comes with the apk package manager, so the RUN lines install redis and gcc from Alpine's package repositories.",
	},
	"busybox": {
		Name: "busybox", Ref: "busybox",
		Install: map[string]string{
			"redis": busyboxRedis,
			"gcc":   busyboxGcc,
		},
		Adapt: "busybox (made offline by `berth bootstrap busybox`) is a shell and the usual tools, but no package manager. " +
			"So where the notes run `apk add --update redis`, the RUN line does by hand what a package does: it creates a folder " +
			"and puts an executable redis-server (a small stand-in script) into /usr/local/bin; `gcc` gets a stand-in the same way. " +
			"The files are real, so every snapshot, layer, image and cache decision is exactly what it would be with apk.",
	},
	"debian": {
		Name: "debian", Ref: "debian",
		Install: map[string]string{
			"redis": "apt-get update && apt-get install -y redis-server",
			"gcc":   "apt-get update && apt-get install -y gcc",
		},
		Adapt: "One difference from the notes: Debian's package manager is apt-get, not alpine's apk, so `apk add --update redis` becomes `apt-get update && apt-get install -y redis-server` — the same real redis, from Debian's archive instead of Alpine's.",
	},
}

// BaseNames lists the bases lessons know, in a stable order.
func BaseNames() []string {
	var out []string
	for n := range baseProfiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Profile returns the profile of a base.
func Profile(name string) (*BaseProfile, error) {
	p, ok := baseProfiles[name]
	if !ok {
		return nil, fmt.Errorf("unknown base %q: use one of %s", name, strings.Join(BaseNames(), ", "))
	}
	return p, nil
}

// placeholderRE is compiled on first use: every berth process links this
// package, and package-level compiles are paid by every start.
var placeholderRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`) })

// checkPlaceholders refuses {{...}} names that expansion does not know.
func checkPlaceholders(text string) error {
	for _, m := range placeholderRE().FindAllStringSubmatch(text, -1) {
		name := m[1]
		switch {
		case name == "base", name == "image", name == "image.short", name == "container", name == "container.short", name == "port":
		case strings.HasPrefix(name, "install "):
			prog := strings.TrimSpace(strings.TrimPrefix(name, "install "))
			if _, ok := baseProfiles["alpine"].Install[prog]; !ok {
				return fmt.Errorf("{{%s}}: lessons know how to install %s", name, strings.Join(installable(), " and "))
			}
		default:
			return fmt.Errorf("unknown placeholder {{%s}} (known: base, install PROGRAM, image, image.short, container, container.short, port)", name)
		}
	}
	return nil
}

func installable() []string {
	var out []string
	for k := range baseProfiles["alpine"].Install {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// vars are the values placeholders expand to at one moment of a lesson.
type vars struct {
	base      *BaseProfile
	image     string // the last image a build or commit produced
	container string // the last container a run created
	port      int    // the host port servers are published on
}

// expand replaces placeholders. A placeholder whose value is not known yet
// (an {{image}} before any build) is an error.
func (v *vars) expand(text string) (string, error) {
	var firstErr error
	out := placeholderRE().ReplaceAllStringFunc(text, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-2])
		val, err := v.value(name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return val
	})
	return out, firstErr
}

func (v *vars) value(name string) (string, error) {
	switch {
	case name == "base":
		return v.base.Ref, nil
	case name == "port":
		return strconv.Itoa(v.port), nil
	case strings.HasPrefix(name, "install "):
		return v.base.Install[strings.TrimSpace(strings.TrimPrefix(name, "install "))], nil
	case name == "image" || name == "image.short":
		return idValue(name, v.image, "any build or commit made an image")
	case name == "container" || name == "container.short":
		return idValue(name, v.container, "any run created a container")
	}
	return "", fmt.Errorf("unknown placeholder {{%s}}", name)
}

// idValue is an ID placeholder's value, whole or short (name ends in
// .short); before says what must come first when there is none yet.
func idValue(name, id, before string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("{{%s}} is used before %s", name, before)
	}
	if strings.HasSuffix(name, ".short") {
		return shortID(id), nil
	}
	return id, nil
}
