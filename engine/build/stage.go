package build

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// defaultShell is the shell of shell-form instructions until SHELL changes it.
var defaultShell = []string{"/bin/sh", "-c"}

// stageState is the state a stage's steps pass along: the image the last
// step produced and the config the next step starts from.
type stageState struct {
	stage   *dockerfile.Stage
	image   *store.Image // nil for scratch (and in Explain mode once a step would run)
	config  ocispec.Image
	ext     store.ExtConfig
	args    map[string]string // declared ARGs with a value, in scope
	argKeys []string          // declaration order
	// busted is set after the first cache miss: nothing later can hit.
	busted     bool
	bustedStep int
	// pending is set in Explain mode when the base image is not in the store.
	pending string
	// cmdSetInStage: a CMD in this stage survives a later ENTRYPOINT.
	cmdSetInStage bool
}

func (s *stageState) parentID() digest.Digest {
	if s.image == nil {
		return ""
	}
	return s.image.ID
}

func (s *stageState) shell() []string {
	if len(s.ext.Shell) > 0 {
		return s.ext.Shell
	}
	return defaultShell
}

// expandEnv is what variables an instruction sees: declared build args,
// overridden by the image's ENV.
func (s *stageState) expandEnv() []string {
	var env []string
	for _, k := range s.argKeys {
		if v, ok := s.args[k]; ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, s.config.Config.Env...)
}

// buildArgEnv is the "K=V" list of declared args that ENV does not override,
// sorted as Docker prefixes them to a RUN's cache key.
func (s *stageState) buildArgEnv() []string {
	set := map[string]bool{}
	for _, kv := range s.config.Config.Env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for k, v := range s.args {
		if !set[k] {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// cloneConfig copies c deeply enough that a step may change the copy's
// slices and maps. It copies by hand, not through JSON: it runs once per
// step on a config that grows with every step.
func cloneConfig(c ocispec.Image) ocispec.Image {
	out := c
	cc := &out.Config
	cc.Env = slices.Clone(c.Config.Env)
	cc.Cmd = slices.Clone(c.Config.Cmd)
	cc.Entrypoint = slices.Clone(c.Config.Entrypoint)
	cc.Labels = maps.Clone(c.Config.Labels)
	cc.ExposedPorts = maps.Clone(c.Config.ExposedPorts)
	cc.Volumes = maps.Clone(c.Config.Volumes)
	out.RootFS.DiffIDs = slices.Clone(c.RootFS.DiffIDs)
	out.History = slices.Clone(c.History)
	out.Platform.OSFeatures = slices.Clone(c.Platform.OSFeatures)
	return out
}

func cloneExt(x store.ExtConfig) store.ExtConfig {
	out := store.ExtConfig{OnBuild: slices.Clone(x.OnBuild), Shell: slices.Clone(x.Shell)}
	if x.Healthcheck != nil {
		h := *x.Healthcheck
		h.Test = slices.Clone(h.Test)
		out.Healthcheck = &h
	}
	return out
}

func (b *Builder) runStage(ctx context.Context, st *dockerfile.Stage) (*stageState, error) {
	s := &stageState{stage: st, args: map[string]string{}}
	b.stages = append(b.stages, s)
	if err := b.step1(ctx, s, st.From, b.from); err != nil {
		return nil, err
	}
	for _, ins := range st.Instructions {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("build interrupted: %w", err)
		}
		if err := b.step1(ctx, s, ins, b.dispatch); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// step1 wraps one step in its start and end events.
func (b *Builder) step1(ctx context.Context, s *stageState, ins *dockerfile.Instruction,
	fn func(context.Context, *stageState, *dockerfile.Instruction, *StepResult) error) error {
	b.step++
	ctx = trace.WithScope(ctx, trace.Scope{Build: b.id, Step: b.step})
	start := time.Now()
	res := StepResult{Number: b.step, Original: ins.Original, Instruction: ins.Keyword}
	b.emit(trace.Event{Type: trace.StepStart, StepInfo: &trace.StepInfo{
		Number: b.step, Total: b.total, Stage: s.stage.Index, StageName: s.stage.Name,
		Instruction: ins.Keyword, Original: ins.Original, Line: ins.Line, Label: b.labels[ins],
	}})
	err := fn(ctx, s, ins, &res)
	end := &trace.StepEndInfo{DurationMS: time.Since(start).Milliseconds(), Cached: res.Cached}
	if err != nil && ctx.Err() != nil {
		what := "its container was removed"
		if !b.opts.Remove && !b.opts.ForceRemove {
			what = "its container was kept (--rm=false)"
		}
		err = &StepError{Step: b.step, Err: fmt.Errorf("build interrupted at step %d: %s", b.step, what)}
	}
	if err != nil {
		var se *StepError
		if !errors.As(err, &se) {
			if dfErr := new(dockerfile.Error); !errors.As(err, &dfErr) && ins.Line > 0 {
				err = &StepError{Step: b.step, Err: b.df.ErrorAt(ins, err)}
			} else {
				err = &StepError{Step: b.step, Err: err}
			}
		}
		end.Error = err.Error()
		b.emit(trace.Event{Type: trace.StepEnd, StepEndInfo: end})
		return err
	}
	if s.image != nil {
		end.Image = s.image.ID.String()
		res.Image = s.image.ID
	}
	b.emit(trace.Event{Type: trace.StepEnd, StepEndInfo: end})
	if res.Cached {
		b.result.Cached++
	} else if ins.Keyword != "FROM" {
		b.result.Ran++
	}
	b.result.Steps = append(b.result.Steps, res)
	return nil
}

// from resolves the base image: an earlier stage, scratch, the store, or a pull.
func (b *Builder) from(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	meta, err := b.df.MetaEnv(b.resolvedBuildArgs())
	if err != nil {
		return err
	}
	for _, m := range b.df.MetaArgs {
		for _, kv := range m.KeyValues {
			delete(b.unusedArgs, kv.Key)
		}
	}
	base, err := dockerfile.Expand(s.stage.Base, meta, b.df.EscapeToken)
	if err != nil {
		return err
	}
	if base == "" {
		return fmt.Errorf("base name (%s) should not be blank", s.stage.Base)
	}
	if s.stage.Platform != "" {
		p, err := dockerfile.Expand(s.stage.Platform, meta, b.df.EscapeToken)
		if err != nil {
			return err
		}
		if err := checkPlatform(p, "FROM --platform"); err != nil {
			return err
		}
	}
	osName, arch := platform()
	lower := strings.ToLower(base)
	for _, prev := range b.stages[:len(b.stages)-1] {
		if prev.stage.Name != "" && prev.stage.Name == lower {
			s.image, s.config, s.ext, s.pending = prev.image, cloneConfig(prev.config), cloneExt(prev.ext), prev.pending
			s.busted, s.bustedStep = prev.busted, prev.bustedStep
			if b.opts.Explain && s.image == nil {
				res.Explanation = fmt.Sprintf("stage %s, which would be rebuilt", prev.stage.Name)
			}
			return nil
		}
	}
	if lower == "scratch" {
		res.Explanation = "scratch: an empty base"
		s.config = ocispec.Image{Platform: ocispec.Platform{OS: osName, Architecture: arch}, RootFS: ocispec.RootFS{Type: "layers"}}
		s.config.Config.Env = nil
		return nil
	}
	img, err := b.store.Image(base)
	missing := err != nil && errors.Is(err, store.ErrNotFound)
	if missing || b.opts.Pull {
		// --pull pulls even what the store has, as Docker; a failed pull
		// fails the build (no fallback to the stored image).
		switch {
		case b.opts.Explain && missing:
			s.pending = base
			res.WouldRun = true
			res.Explanation = fmt.Sprintf("%s is not in the store; it would be pulled — the steps after it cannot be judged from the cache until it is", base)
			return nil
		case b.opts.Explain:
			// The plan assumes the registry still has the stored image.
			res.Explanation = fmt.Sprintf("--pull: %s would be pulled again; this plan assumes it is unchanged", base)
		default:
			img, err = b.backend.Pull(ctx, base, b.opts.Progress)
		}
	}
	if err != nil {
		return err
	}
	b.images[img.ID] = img
	s.image = img
	s.config = cloneConfig(img.Config)
	s.ext = cloneExt(img.Ext)
	if len(s.ext.OnBuild) > 0 {
		if err := b.onbuild(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// onbuild runs the base image's ONBUILD triggers inside the FROM step, as
// Docker does.
func (b *Builder) onbuild(ctx context.Context, s *stageState) error {
	triggers := s.ext.OnBuild
	s.ext.OnBuild = nil
	word := "triggers"
	if len(triggers) == 1 {
		word = "trigger"
	}
	b.emit(trace.Event{Type: trace.Output, Output: &trace.OutputInfo{Stream: "stdout",
		Text: fmt.Sprintf("# Executing %d build %s\n", len(triggers), word)}})
	for _, t := range triggers {
		ins, err := dockerfile.ParseTrigger(t)
		if err != nil {
			return fmt.Errorf("ONBUILD trigger %q: %w", t, err)
		}
		var res StepResult
		if err := b.dispatch(ctx, s, ins, &res); err != nil {
			return err
		}
	}
	return nil
}

// dispatch executes one instruction after FROM.
func (b *Builder) dispatch(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	switch ins.Keyword {
	case "RUN":
		return b.dispatchRun(ctx, s, ins, res)
	case "COPY", "ADD":
		return b.dispatchCopy(ctx, s, ins, res)
	case "WORKDIR":
		return b.dispatchWorkdir(ctx, s, ins, res)
	default:
		return b.dispatchMeta(ctx, s, ins, res)
	}
}

// expand expands a word with the stage's variables.
func (b *Builder) expand(s *stageState, word string) (string, error) {
	return dockerfile.Expand(word, s.expandEnv(), b.df.EscapeToken)
}

func (b *Builder) useArg(name string) { delete(b.unusedArgs, name) }

// metaChange applies a metadata instruction to the config and returns the
// text Docker's classic builder writes after "#(nop) " in the history.
func (b *Builder) metaChange(s *stageState, ins *dockerfile.Instruction) (string, error) {
	cfg := &s.config.Config
	switch ins.Keyword {
	case "CMD", "ENTRYPOINT":
		cmd := ins.Args
		if !ins.JSON {
			cmd = append(append([]string{}, s.shell()...), ins.Args...)
		}
		if ins.Keyword == "CMD" {
			cfg.Cmd = cmd
		} else {
			cfg.Entrypoint = cmd
			// Docker: a new ENTRYPOINT resets an inherited CMD.
			if !s.cmdSetInStage {
				cfg.Cmd = nil
			}
		}
		if ins.Keyword == "CMD" {
			s.cmdSetInStage = true
		}
		return fmt.Sprintf("%s %s", ins.Keyword, quoteSlice(cmd)), nil
	case "ENV":
		var parts []string
		for _, kv := range ins.KeyValues {
			key, err := b.expand(s, kv.Key)
			if err != nil {
				return "", err
			}
			val, err := b.expand(s, kv.Value)
			if err != nil {
				return "", err
			}
			cfg.Env = setEnv(cfg.Env, key, val)
			parts = append(parts, key+"="+val)
		}
		return "ENV " + strings.Join(parts, " "), nil
	case "LABEL":
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		var parts []string
		for _, kv := range ins.KeyValues {
			key, val := kv.Key, kv.Value
			if !b.noExpand[ins] {
				var err error
				if key, err = b.expand(s, kv.Key); err != nil {
					return "", err
				}
				if val, err = b.expand(s, kv.Value); err != nil {
					return "", err
				}
			}
			cfg.Labels[key] = val
			parts = append(parts, key+"="+val)
		}
		return "LABEL " + strings.Join(parts, " "), nil
	case "MAINTAINER":
		s.config.Author = ins.Args[0]
		return "MAINTAINER " + ins.Args[0], nil
	case "EXPOSE":
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
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
	case "WORKDIR":
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
	case "USER":
		u, err := b.expand(s, ins.Args[0])
		if err != nil {
			return "", err
		}
		cfg.User = u
		return "USER " + u, nil
	case "VOLUME":
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
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
	case "STOPSIGNAL":
		sig, err := b.expand(s, ins.Args[0])
		if err != nil {
			return "", err
		}
		if err := dockerfile.ValidateSignal(sig); err != nil {
			return "", err
		}
		cfg.StopSignal = sig
		return "STOPSIGNAL " + sig, nil
	case "SHELL":
		s.ext.Shell = append([]string{}, ins.Args...)
		// dispatchers.go, dispatchShell: fmt.Sprintf("SHELL %v", Shell).
		return fmt.Sprintf("SHELL %v", ins.Args), nil
	case "HEALTHCHECK":
		h := ins.Health
		if h == nil {
			return "", errors.New("HEALTHCHECK: missing health check")
		}
		s.ext.Healthcheck = &store.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
		return healthText(s.ext.Healthcheck), nil
	case "ONBUILD":
		trigger := ins.Args[0]
		s.ext.OnBuild = append(s.ext.OnBuild, trigger)
		return "ONBUILD " + trigger, nil
	case "ARG":
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
			if kv.HasValue {
				// dispatchers.go, dispatchArg: the default as expanded,
				// never the --build-arg value.
				def, err := b.expand(s, kv.Value)
				if err != nil {
					return "", err
				}
				parts = append(parts, name+"="+def)
			} else {
				parts = append(parts, name)
			}
		}
		return "ARG " + strings.Join(parts, " "), nil
	}
	return "", fmt.Errorf("unknown instruction: %s", ins.Keyword)
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

func (b *Builder) dispatchMeta(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	comment, err := b.metaChange(s, ins)
	if err != nil {
		return err
	}
	createdBy := strings.Join(append(append([]string{}, s.shell()...), "#(nop) ", comment), " ")
	if hit := b.probe(s, ins, createdBy, nil, res); hit {
		return nil
	}
	if b.opts.Explain {
		return nil
	}
	// The classic builder creates a container for every step; for metadata
	// it is never started, only committed with the new config.
	id, err := b.backend.CreateContainer(ctx, ContainerRequest{
		Image: s.parentID(), Cmd: append(append([]string{}, s.shell()...), "#(nop) ", comment),
		Env: s.config.Config.Env, WorkingDir: s.config.Config.WorkingDir, User: s.config.Config.User,
		Purpose: "build", Step: b.step, NeverStarts: true, Parent: s.image,
		MetadataOnly: b.opts.Remove || b.opts.ForceRemove,
	})
	if err != nil {
		return err
	}
	img, err := b.backend.CommitContainer(ctx, id, CommitRequest{
		Config: s.config, Ext: s.ext, Parent: s.image, CreatedBy: createdBy, NoLayer: true, Step: b.step,
	})
	if rmErr := b.removeContainer(ctx, id, err == nil); err == nil {
		err = rmErr
	}
	if err != nil {
		return err
	}
	return b.stepDone(s, ins, createdBy, nil, img)
}

func (b *Builder) dispatchRun(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	var cmd []string
	if ins.JSON {
		cmd = append([]string{}, ins.Args...)
	} else {
		cmd = append(append([]string{}, s.shell()...), ins.RunScript())
	}
	argEnv := s.buildArgEnv()
	keyCmd := cmd
	if len(argEnv) > 0 {
		keyCmd = append(append([]string{fmt.Sprintf("|%d", len(argEnv))}, argEnv...), cmd...)
	}
	createdBy := strings.Join(keyCmd, " ")
	if hit := b.probe(s, ins, createdBy, nil, res); hit {
		return nil
	}
	if b.opts.Explain {
		return nil
	}
	network := b.opts.Network
	if n, ok := ins.Flag("network"); ok && n != "default" {
		network = n
	}
	env := append(append([]string{}, s.config.Config.Env...), argEnv...)
	id, err := b.backend.CreateContainer(ctx, ContainerRequest{
		Image: s.parentID(), Cmd: cmd, Env: env, WorkingDir: s.config.Config.WorkingDir,
		User: s.config.Config.User, Network: network, Purpose: "build", Step: b.step, Parent: s.image,
	})
	if err != nil {
		return err
	}
	out := &trace.OutputWriter{Record: b.emit, Stream: "stdout", Container: id}
	errOut := &trace.OutputWriter{Record: b.emit, Stream: "stderr", Container: id}
	code, err := b.backend.RunContainer(ctx, id, out, errOut)
	out.Flush()
	errOut.Flush()
	if err == nil && code != 0 {
		err = &StepError{Step: b.step, ExitCode: code,
			Err: fmt.Errorf("The command '%s' returned a non-zero code: %d", strings.Join(cmd, " "), code)}
	}
	if err == nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("build interrupted: %w", ctxErr)
		}
	}
	img, err := b.commitAndRemove(ctx, id, s, createdBy, err)
	if err != nil {
		return err
	}
	return b.stepDone(s, ins, createdBy, nil, img)
}

// commitAndRemove is the end of every step that made a container, as the
// notes tell it: when the step's work (stepErr) succeeded, snapshot the
// container and save the snapshot as the step's image; then remove the
// container, as --rm and --force-rm say.
func (b *Builder) commitAndRemove(ctx context.Context, id string, s *stageState, createdBy string, stepErr error) (*store.Image, error) {
	var img *store.Image
	err := stepErr
	if err == nil {
		img, err = b.backend.CommitContainer(ctx, id, CommitRequest{
			Config: s.config, Ext: s.ext, Parent: s.image, CreatedBy: createdBy, Step: b.step,
		})
	}
	if rmErr := b.removeContainer(ctx, id, err == nil); err == nil {
		err = rmErr
	}
	return img, err
}

// removeContainer removes an intermediate container as --rm and --force-rm say.
func (b *Builder) removeContainer(ctx context.Context, id string, succeeded bool) error {
	if !(b.opts.Remove || b.opts.ForceRemove) {
		return nil
	}
	// A cancelled build still cleans up: use a context that is not cancelled.
	err := b.backend.RemoveContainer(context.WithoutCancel(ctx), id)
	if err != nil && succeeded {
		return fmt.Errorf("remove intermediate container %s: %w", trace.ShortID(id), err)
	}
	return nil
}

// stepDone forwards the new image to the next step and records it in the cache.
func (b *Builder) stepDone(s *stageState, ins *dockerfile.Instruction, key string, sources map[string]string, img *store.Image) error {
	parent := s.parentID()
	if err := b.store.CachePut(store.CacheEntry{Parent: parent, Key: key, Image: img.ID, Original: ins.Original, Sources: sources}); err != nil {
		return err
	}
	// Not kept in b.images: each step's config holds the whole history and
	// environment so far, and keeping them all made memory grow with the
	// square of the steps. The next step needs only this one.
	s.image = img
	s.config = cloneConfig(img.Config)
	s.ext = cloneExt(img.Ext)
	return nil
}

func setEnv(env []string, key, val string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			out := append([]string{}, env...)
			out[i] = key + "=" + val
			return out
		}
	}
	return append(append([]string{}, env...), key+"="+val)
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
