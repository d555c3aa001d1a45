package build

import (
	"context"
	"errors"
	"fmt"
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
	// env and hist are the arrays config's environment and history are
	// views of, which the stage appends to in place (owned.go).
	env  envIndex
	hist ownedList[ocispec.History]
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
// overridden by the image's ENV. Without args it is the config's own
// environment, not a copy: Expand only reads it.
func (s *stageState) expandEnv() []string {
	if len(s.argKeys) == 0 {
		return s.config.Config.Env
	}
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

// from is FROM's dispatcher: it resolves the base image, an earlier stage,
// scratch, the store, or a pull. It creates no container.
func (b *Builder) from(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	base, err := b.baseName(s.stage)
	if err != nil {
		return err
	}
	osName, arch := platform()
	lower := strings.ToLower(base)
	for _, prev := range b.stages[:len(b.stages)-1] {
		if prev.stage.Name != "" && prev.stage.Name == lower {
			s.image, s.config, s.ext, s.pending = prev.image, prev.config, cloneExt(prev.ext), prev.pending
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
	s.config = img.Config
	s.ext = cloneExt(img.Ext)
	if len(s.ext.OnBuild) > 0 {
		if err := b.onbuild(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// baseName is the stage's base as the ARGs before FROM expand it; a
// FROM --platform other than the host's is refused.
func (b *Builder) baseName(st *dockerfile.Stage) (string, error) {
	meta, err := b.df.MetaEnv(b.resolvedBuildArgs())
	if err != nil {
		return "", err
	}
	for _, m := range b.df.MetaArgs {
		for _, kv := range m.KeyValues {
			delete(b.unusedArgs, kv.Key)
		}
	}
	base, err := dockerfile.Expand(st.Base, meta, b.df.EscapeToken)
	if err != nil {
		return "", err
	}
	if base == "" {
		return "", fmt.Errorf("base name (%s) should not be blank", st.Base)
	}
	if st.Platform != "" {
		p, err := dockerfile.Expand(st.Platform, meta, b.df.EscapeToken)
		if err != nil {
			return "", err
		}
		if err := checkPlatform(p, "FROM --platform"); err != nil {
			return "", err
		}
	}
	return base, nil
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

// expand expands a word with the stage's variables. A word without a $
// names none, so it is expanded (its quotes and escapes) without them.
func (b *Builder) expand(s *stageState, word string) (string, error) {
	var env []string
	if strings.ContainsRune(word, '$') {
		env = s.expandEnv()
	}
	return dockerfile.Expand(word, env, b.df.EscapeToken)
}

func (b *Builder) useArg(name string) { delete(b.unusedArgs, name) }
