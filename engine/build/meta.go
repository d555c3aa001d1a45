package build

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
)

// metaChanges apply one metadata instruction each to the stage's config
// and return the text Docker's classic builder writes after "#(nop) " in
// the history (moby's dispatchers.go has one dispatchX per instruction).
var metaChanges = map[string]func(b *Builder, s *stageState, ins *dockerfile.Instruction) (string, error){
	"CMD":         (*Builder).changeCmd,
	"ENTRYPOINT":  (*Builder).changeCmd,
	"ENV":         (*Builder).changeEnv,
	"LABEL":       (*Builder).changeLabel,
	"MAINTAINER":  (*Builder).changeMaintainer,
	"EXPOSE":      (*Builder).changeExpose,
	"WORKDIR":     (*Builder).changeWorkdir,
	"USER":        (*Builder).changeUser,
	"VOLUME":      (*Builder).changeVolume,
	"STOPSIGNAL":  (*Builder).changeStopSignal,
	"SHELL":       (*Builder).changeShell,
	"HEALTHCHECK": (*Builder).changeHealthcheck,
	"ONBUILD":     (*Builder).changeOnbuild,
	"ARG":         (*Builder).changeArg,
}

// metaChange applies a metadata instruction to the config and returns the
// text Docker's classic builder writes after "#(nop) " in the history.
func (b *Builder) metaChange(s *stageState, ins *dockerfile.Instruction) (string, error) {
	change, ok := metaChanges[ins.Keyword]
	if !ok {
		return "", fmt.Errorf("unknown instruction: %s", ins.Keyword)
	}
	return change(b, s, ins)
}

func (b *Builder) changeCmd(s *stageState, ins *dockerfile.Instruction) (string, error) {
	cfg := &s.config.Config
	cmd := ins.Args
	if !ins.JSON {
		cmd = append(append([]string{}, s.shell()...), ins.Args...)
	}
	if ins.Keyword == "CMD" {
		cfg.Cmd = cmd
		s.cmdSetInStage = true
	} else {
		cfg.Entrypoint = cmd
		// Docker: a new ENTRYPOINT resets an inherited CMD.
		if !s.cmdSetInStage {
			cfg.Cmd = nil
		}
	}
	return fmt.Sprintf("%s %s", ins.Keyword, quoteSlice(cmd)), nil
}

// Every pair of one ENV is expanded against the environment from before
// the instruction, as Docker does: in `ENV abc=bye def=$abc`, def gets
// abc's earlier value, and only a later instruction sees bye.
func (b *Builder) changeEnv(s *stageState, ins *dockerfile.Instruction) (string, error) {
	keys := make([]string, len(ins.KeyValues))
	vals := make([]string, len(ins.KeyValues))
	parts := make([]string, len(ins.KeyValues))
	for i, kv := range ins.KeyValues {
		key, val, err := b.expandKV(s, kv)
		if err != nil {
			return "", err
		}
		keys[i], vals[i], parts[i] = key, val, key+"="+val
	}
	for i := range keys {
		s.setEnv(keys[i], vals[i])
	}
	return "ENV " + strings.Join(parts, " "), nil
}

// expandKV expands both sides of an ENV or LABEL pair.
func (b *Builder) expandKV(s *stageState, kv dockerfile.KV) (string, string, error) {
	key, err := b.expand(s, kv.Key)
	if err != nil {
		return "", "", err
	}
	val, err := b.expand(s, kv.Value)
	return key, val, err
}

func (b *Builder) changeLabel(s *stageState, ins *dockerfile.Instruction) (string, error) {
	cfg := &s.config.Config
	// A copy: the config before this step shares the map (owned.go).
	cfg.Labels = cloneMap(cfg.Labels)
	var parts []string
	for _, kv := range ins.KeyValues {
		key, val := kv.Key, kv.Value
		if !b.noExpand[ins] {
			var err error
			if key, val, err = b.expandKV(s, kv); err != nil {
				return "", err
			}
		}
		cfg.Labels[key] = val
		parts = append(parts, key+"="+val)
	}
	return "LABEL " + strings.Join(parts, " "), nil
}

func (b *Builder) changeMaintainer(s *stageState, ins *dockerfile.Instruction) (string, error) {
	s.config.Author = ins.Args[0]
	return "MAINTAINER " + ins.Args[0], nil
}

func (b *Builder) changeExpose(s *stageState, ins *dockerfile.Instruction) (string, error) {
	cfg := &s.config.Config
	cfg.ExposedPorts = cloneMap(cfg.ExposedPorts)
	var ports []string
	for _, a := range ins.Args {
		p, err := b.expand(s, a)
		if err != nil {
			return "", err
		}
		for _, f := range strings.Fields(p) {
			exposed, err := dockerfile.ExposedPorts(f)
			if err != nil {
				return "", err
			}
			for _, port := range exposed {
				cfg.ExposedPorts[port] = struct{}{}
			}
			// The history keeps the ports as written: "EXPOSE 6379",
			// not "6379/tcp" (dispatchers.go, dispatchExpose).
			ports = append(ports, f)
		}
	}
	return "EXPOSE " + strings.Join(ports, " "), nil
}

func (b *Builder) changeWorkdir(s *stageState, ins *dockerfile.Instruction) (string, error) {
	cfg := &s.config.Config
	dir, err := b.expand(s, ins.Args[0])
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(dir, "/") {
		base := cfg.WorkingDir
		if base == "" {
			base = "/"
		}
		dir = joinPath(base, dir)
	}
	cfg.WorkingDir = path.Clean(dir)
	return "WORKDIR " + cfg.WorkingDir, nil
}

func (b *Builder) changeUser(s *stageState, ins *dockerfile.Instruction) (string, error) {
	u, err := b.expand(s, ins.Args[0])
	if err != nil {
		return "", err
	}
	s.config.Config.User = u
	return "USER " + u, nil
}

func (b *Builder) changeVolume(s *stageState, ins *dockerfile.Instruction) (string, error) {
	cfg := &s.config.Config
	cfg.Volumes = cloneMap(cfg.Volumes)
	var vols []string
	for _, a := range ins.Args {
		v, err := b.expand(s, a)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(v) == "" {
			return "", errors.New("VOLUME specified can not be an empty string")
		}
		cfg.Volumes[v] = struct{}{}
		vols = append(vols, v)
	}
	return fmt.Sprintf("VOLUME %v", vols), nil
}

func (b *Builder) changeStopSignal(s *stageState, ins *dockerfile.Instruction) (string, error) {
	sig, err := b.expand(s, ins.Args[0])
	if err != nil {
		return "", err
	}
	if err := dockerfile.ValidateSignal(sig); err != nil {
		return "", err
	}
	s.config.Config.StopSignal = sig
	return "STOPSIGNAL " + sig, nil
}

func (b *Builder) changeShell(s *stageState, ins *dockerfile.Instruction) (string, error) {
	s.ext.Shell = append([]string{}, ins.Args...)
	// dispatchers.go, dispatchShell: fmt.Sprintf("SHELL %v", Shell).
	return fmt.Sprintf("SHELL %v", ins.Args), nil
}

func (b *Builder) changeHealthcheck(s *stageState, ins *dockerfile.Instruction) (string, error) {
	h := ins.Health
	if h == nil {
		return "", errors.New("HEALTHCHECK: missing health check")
	}
	s.ext.Healthcheck = &store.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
		StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	return healthText(s.ext.Healthcheck), nil
}

func (b *Builder) changeOnbuild(s *stageState, ins *dockerfile.Instruction) (string, error) {
	trigger := ins.Args[0]
	s.ext.OnBuild = append(s.ext.OnBuild, trigger)
	return "ONBUILD " + trigger, nil
}

// changeArg declares build args: a --build-arg's value, else the default,
// else a pre-FROM ARG's. The history shows the default as expanded, never
// the --build-arg value (dispatchers.go, dispatchArg).
func (b *Builder) changeArg(s *stageState, ins *dockerfile.Instruction) (string, error) {
	var parts []string
	for _, kv := range ins.KeyValues {
		name := kv.Key
		b.useArg(name)
		val, have := "", false
		if v, ok := b.resolvedBuildArgs()[name]; ok {
			val, have = v, true
		} else if kv.HasValue {
			v, err := b.expand(s, kv.Value)
			if err != nil {
				return "", err
			}
			val, have = v, true
		} else if metaVal, ok := b.metaDefault(name); ok {
			val, have = metaVal, true
		}
		if _, seen := s.args[name]; !seen {
			s.argKeys = append(s.argKeys, name)
		}
		if have {
			s.args[name] = val
		}
		if !kv.HasValue {
			parts = append(parts, name)
			continue
		}
		def, err := b.expand(s, kv.Value)
		if err != nil {
			return "", err
		}
		parts = append(parts, name+"="+def)
	}
	return "ARG " + strings.Join(parts, " "), nil
}

// metaDefault returns the value a pre-FROM ARG gives name, for a stage
// that redeclares it with a bare ARG.
func (b *Builder) metaDefault(name string) (string, bool) {
	meta, err := b.df.MetaEnv(b.resolvedBuildArgs())
	if err != nil {
		return "", false
	}
	for _, kv := range meta {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// cloneMap is a copy of m to change, never nil.
func cloneMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m)+1)
	maps.Copy(out, m)
	return out
}

// healthText is the history text of HEALTHCHECK: dispatchers.go,
// dispatchHealthcheck writes fmt.Sprintf("HEALTHCHECK %+v", *HealthConfig),
// so the struct's field names and order are part of it.
func healthText(h *store.HealthConfig) string {
	type HealthConfig struct {
		Test                                          []string
		Interval, Timeout, StartPeriod, StartInterval time.Duration
		Retries                                       int
	}
	return fmt.Sprintf("HEALTHCHECK %+v", &HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
		StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries})
}

// quoteSlice formats like Go's %q of a []string, as Docker's history shows
// CMD and ENTRYPOINT: ["redis-server"], ["/bin/sh" "-c" "echo hi"].
func quoteSlice(ss []string) string { return fmt.Sprintf("%q", ss) }

func joinPath(base, rel string) string {
	if strings.HasSuffix(base, "/") {
		return base + rel
	}
	return base + "/" + rel
}
