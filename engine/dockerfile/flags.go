package dockerfile

import (
	"sort"
	"strings"
)

type flagKind int

const (
	boolFlag    flagKind = iota // --link, --link=true, --link=false
	stringFlag                  // --from=build, once
	stringsFlag                 // --exclude=a --exclude=b, repeatable
)

// flagSpecs are the flags each instruction knows, as in BuildKit's instructions
// package. Instructions not listed take no flags.
var flagSpecs = map[string]map[string]flagKind{
	"FROM": {"platform": stringFlag},
	"RUN":  {"network": stringFlag, "mount": stringsFlag, "security": stringFlag, "device": stringsFlag},
	"COPY": {
		"from": stringFlag, "chown": stringFlag, "chmod": stringFlag, "link": boolFlag,
		"parents": boolFlag, "exclude": stringsFlag,
	},
	"ADD": {
		"chown": stringFlag, "chmod": stringFlag, "link": boolFlag, "keep-git-dir": boolFlag,
		"checksum": stringFlag, "unpack": boolFlag, "exclude": stringsFlag,
	},
	"HEALTHCHECK": {
		"interval": stringFlag, "timeout": stringFlag, "start-period": stringFlag,
		"start-interval": stringFlag, "retries": stringFlag,
	},
}

// buildkitOnly are flags Docker knows but only BuildKit implements. Docker's classic
// builder refuses them ("the --mount option requires BuildKit"), and so does Berth,
// which builds like the classic builder: silently ignoring them would build
// something other than what the Dockerfile asks for.
var buildkitOnly = map[string]map[string]string{
	"RUN": {
		"mount":    "mount build context files with COPY, or download caches in the RUN itself",
		"security": "",
		"device":   "",
	},
	"COPY": {"parents": "", "exclude": "list what to leave out in .dockerignore"},
	"ADD": {
		"keep-git-dir": "", "checksum": "check the download in a RUN step", "unpack": "",
		"exclude": "list what to leave out in .dockerignore",
	},
}

// parseFlags checks an instruction's flags (as BuildKit's parser extracted them,
// "--name=value") against flagSpecs, with Docker's messages.
func parseFlags(keyword string, raw []string) (map[string][]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	spec := flagSpecs[keyword]
	out := make(map[string][]string, len(raw))
	for _, arg := range raw {
		if arg == "--" {
			break
		}
		if !strings.HasPrefix(arg, "--") {
			return nil, errf("arg should start with -- : %s", arg)
		}
		name, value, hasValue := strings.Cut(arg[2:], "=")
		kind, known := spec[name]
		if !known {
			return nil, errf("Unknown flag: %s", name)
		}
		if _, dup := out[name]; dup && kind != stringsFlag {
			return nil, errf("duplicate flag specified: --%s", name)
		}
		switch kind {
		case boolFlag:
			if hasValue && value == "" {
				return nil, errf("missing a value on flag: --%s", name)
			}
			switch strings.ToLower(value) {
			case "", "true":
				value = "true"
			case "false":
				value = "false"
			default:
				return nil, errf("expecting boolean value for flag --%s, not: %s", name, value)
			}
		default:
			if !hasValue {
				return nil, errf("missing a value on flag: --%s", name)
			}
		}
		out[name] = append(out[name], value)
	}
	// Report refused flags in a stable order.
	used := make([]string, 0, len(out))
	for name := range out {
		used = append(used, name)
	}
	sort.Strings(used)
	for _, name := range used {
		if hint, refused := buildkitOnly[keyword][name]; refused {
			if keyword == "COPY" || keyword == "ADD" {
				if v := out[name]; len(v) == 1 && v[0] == "false" {
					continue // "--parents=false" asks for the classic behaviour
				}
			}
			msg := "the --" + name + " option requires BuildKit; Berth builds like Docker's classic builder, which does not support it"
			if hint != "" {
				msg += ": " + hint
			}
			return nil, errf("%s", msg)
		}
	}
	return out, nil
}
