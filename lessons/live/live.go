package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/lessons"
	"github.com/berthkit/berth/trace"
)

// ErrNoBase is returned by Prepare when no base image can be had without
// the network: neither the user's root nor the host offers one.
var ErrNoBase = errors.New("no base image at hand")

// ErrNotSupported is returned by Prepare when this machine cannot run the
// engine (not Linux, or not root).
var ErrNotSupported = errors.New("live lessons need root on Linux")

// Options configure Prepare.
type Options struct {
	// UserRoot is the user's berth root: the base image is copied from it
	// when it has one. It is only read.
	UserRoot string
	// Base is busybox, alpine or debian; "" picks one (see Prepare).
	Base string
	// Dir is where the lesson's temporary directory is made ("" = $TMPDIR).
	Dir string
	// Lesson names the directory.
	Lesson string
	// Progress receives what preparing the base prints (a pull, mmdebstrap).
	Progress io.Writer
	// BootstrapCache is where mmdebstrap's tarballs are kept ("" = none),
	// so the debian base is downloaded once, not once per lesson.
	BootstrapCache string
}

// Session is a live lesson's private engine: a fresh berth root with the
// base image in it, and a workspace folder for the lesson's files.
type Session struct {
	Dir       string // holds root/ and workspace/
	Root      string
	Workspace string
	Base      string // the base profile used
	// Why says where the base came from and why it was chosen.
	Why     string
	Engine  *engine.Engine
	Backend *Backend
}

// CanRun says whether this machine can run live lessons, and if not why.
func CanRun() (bool, string) {
	if runtime.GOOS != "linux" {
		return false, "this is " + runtime.GOOS + ", and the engine needs Linux"
	}
	if mode, why := engine.Mode(); mode == engine.ModeReplay {
		return false, why + ", and the engine needs root or a user namespace (rootless mode, see docs/rootless.md) for namespaces and overlay mounts"
	}
	return true, ""
}

// Prepare makes a lesson's private root and puts the base image in it.
// Each live lesson starts from an empty build cache, so what the notes say
// about a first build is true every time; the user's root is never written.
//
// The base, when not given: alpine if the user's root has it (the notes'
// base, pulled while online); else debian, from the user's root or made
// with mmdebstrap from the Debian mirror (real redis, with apt-get); else
// busybox (copied from the user's root, or made offline from the host's
// static busybox), whose redis is a stand-in. Lessons never pull or probe
// Docker Hub unless asked: an explicit alpine is pulled when the user's root
// lacks it, an explicit debian is made with mmdebstrap.
func Prepare(ctx context.Context, opts Options) (*Session, error) {
	if ok, why := CanRun(); !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotSupported, why)
	}
	user := openUserRoot(opts.UserRoot)
	if user != nil {
		defer user.Close()
	}
	base, why, err := chooseBase(opts.Base, user, opts.UserRoot, opts.BootstrapCache)
	if err != nil {
		return nil, err
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("make the lesson's directory: %w", err)
		}
	}
	dir, err := os.MkdirTemp(opts.Dir, "berth-lesson-"+opts.Lesson+"-")
	if err != nil {
		return nil, fmt.Errorf("make the lesson's directory: %w", err)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	s := &Session{Dir: dir, Root: filepath.Join(dir, "root"), Workspace: filepath.Join(dir, "workspace"), Base: base}
	if err := os.MkdirAll(s.Workspace, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	eng, err := engine.Open(s.Root, engine.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.Engine = eng
	s.Backend = &Backend{Engine: eng}
	from, err := provideBase(ctx, eng, user, opts, base)
	if err != nil {
		s.Close(false)
		return nil, err
	}
	s.Why = why + " " + from
	return s, nil
}

// Close removes the lesson's containers and, unless keep, its directory.
func (s *Session) Close(keep bool) error {
	var firstErr error
	if s.Engine != nil {
		ctx := context.Background()
		if cs, err := s.Engine.ListContainers(ctx, true); err == nil {
			for _, c := range cs {
				if err := s.Engine.RemoveContainer(ctx, c.ID, true); err != nil && firstErr == nil {
					firstErr = fmt.Errorf("remove lesson container %s: %w", c.ShortID(), err)
				}
			}
		}
		if err := removeNetworks(ctx, s.Engine); err != nil && firstErr == nil {
			firstErr = err
		}
		if err := s.Engine.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
		s.Engine = nil
	}
	if !keep {
		if err := os.RemoveAll(s.Dir); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func openUserRoot(root string) *engine.Engine {
	if root == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(root, "index.json")); err != nil {
		return nil // never create the user's root just to look into it
	}
	e, err := engine.Open(root, engine.Options{})
	if err != nil {
		return nil
	}
	return e
}

// userImage finds a base in the user's root: the exact ref, or for debian
// any debian tag.
func userImage(user *engine.Engine, base string) string {
	if user == nil {
		return ""
	}
	if base == "debian" {
		imgs, err := user.Images()
		if err != nil {
			return ""
		}
		for _, img := range imgs {
			for _, r := range img.Refs {
				if strings.HasPrefix(r, "docker.io/library/debian:") {
					return r
				}
			}
		}
		return ""
	}
	if _, err := user.LookupImage(base + ":latest"); err == nil {
		return base + ":latest"
	}
	return ""
}

func hostBusybox() bool {
	p, err := exec.LookPath("busybox")
	return err == nil && p != ""
}

// canMakeDebian says whether a debian base can be made: mmdebstrap is
// installed (it needs the Debian mirror, which a workshop without Docker Hub
// usually still has), or a tarball it made is cached.
func canMakeDebian(cache string) bool {
	if _, err := exec.LookPath("mmdebstrap"); err == nil {
		return true
	}
	if cache == "" {
		return false
	}
	tarballs, _ := filepath.Glob(filepath.Join(cache, "*.tar"))
	return len(tarballs) > 0
}

func chooseBase(asked string, user *engine.Engine, userRoot, cache string) (string, string, error) {
	switch asked {
	case "alpine", "busybox", "debian":
		return asked, fmt.Sprintf("Base %s, as asked (--base %s).", asked, asked), nil
	case "":
	default:
		_, err := lessons.Profile(asked)
		return "", "", err
	}
	if userImage(user, "alpine") != "" {
		return "alpine", "Base alpine, the notes' own, because your berth root has it.", nil
	}
	offline := "alpine comes from Docker Hub and is not in your berth root (" + userRoot + "); lessons do not pull it unless asked (--base alpine)"
	if userImage(user, "debian") != "" {
		return "debian", "Base debian, with real redis: " + offline + ", and your berth root has debian.", nil
	}
	if canMakeDebian(cache) {
		return "debian", "Base debian, with real redis: " + offline + ", while a Debian mirror is enough for `berth bootstrap debian`.", nil
	}
	if userImage(user, "busybox") != "" || hostBusybox() {
		return "busybox", "Base busybox, because it works with no network at all: " + offline + ", and mmdebstrap, which makes a debian base, is not installed (apt-get install mmdebstrap).", nil
	}
	return "", "", fmt.Errorf("%w: your berth root (%s) has no alpine, debian or busybox image, mmdebstrap is not installed and this machine has no static busybox: run `berth pull alpine`, `berth bootstrap debian` (apt-get install mmdebstrap) or `berth bootstrap busybox` (apt-get install busybox-static), or replay the recording with --replay", ErrNoBase, userRoot)
}

// provideBase puts the base into the lesson's root as <base>:latest and
// says where it came from.
func provideBase(ctx context.Context, eng *engine.Engine, user *engine.Engine, opts Options, base string) (string, error) {
	want := base + ":latest"
	if ref := userImage(user, base); ref != "" {
		if err := copyImage(ctx, user, eng, ref); err != nil {
			return "", fmt.Errorf("copy %s from your berth root into the lesson's: %w", ref, err)
		}
		if _, err := eng.TagImage(ctx, ref, want); err != nil {
			return "", err
		}
		return fmt.Sprintf("It was copied from your berth root (%s) into the lesson's own root, so the lesson starts with an empty build cache.", opts.UserRoot), nil
	}
	switch base {
	case "busybox":
		res, err := eng.BootstrapBusybox(ctx, engine.BootstrapBusyboxOptions{Ref: want})
		if err != nil {
			return "", fmt.Errorf("make the busybox base: %w (install busybox-static, or replay with --replay)", err)
		}
		return fmt.Sprintf("Your berth root has none, so the lesson made it from %s, as `berth bootstrap busybox` does.", res.Source), nil
	case "alpine":
		if _, err := eng.Pull(ctx, "alpine:latest", engine.PullOptions{Progress: opts.Progress}); err != nil {
			return "", fmt.Errorf("pull alpine: %w (offline? use --base busybox, or replay with --replay)", err)
		}
		return "It was pulled from Docker Hub into the lesson's own root.", nil
	case "debian":
		res, err := eng.BootstrapDebian(ctx, engine.BootstrapDebianOptions{Ref: want, Progress: opts.Progress, CacheDir: opts.BootstrapCache})
		if err != nil {
			return "", fmt.Errorf("make the debian base: %w (no Debian mirror? use --base busybox, or replay with --replay)", err)
		}
		return fmt.Sprintf("The lesson made it as `berth bootstrap debian` does (Debian %s, from %s).", res.Version, res.Source), nil
	}
	return "", fmt.Errorf("unknown base %q", base)
}

// copyImage moves an image between roots the way `berth save | berth load` would.
func copyImage(ctx context.Context, from, to *engine.Engine, ref string) error {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(from.Save(ctx, pw, []string{ref}))
	}()
	_, err := to.Load(ctx, pr)
	pr.CloseWithError(errors.New("load stopped"))
	return err
}

// Backend runs a lesson's actions on the engine. It implements lessons.Backend.
type Backend struct {
	Engine *engine.Engine
}

var _ lessons.Backend = (*Backend)(nil)

// AddRecorder attaches r to the engine's events.
func (b *Backend) AddRecorder(r trace.Recorder) func() { return b.Engine.AddRecorder(r) }

// Note emits a lesson marker into the engine's event stream.
func (b *Backend) Note(text string) {
	b.Engine.Emit(trace.Event{Type: trace.Message, Message: &trace.MessageInfo{Level: "info", Text: text}})
}

// Version names the engine.
func (b *Backend) Version() string { return "berth " + engine.Version }

// EngineMode is the mode this process's engine runs in (root or
// rootless), so a lesson takes the steps that mode can do.
func (b *Backend) EngineMode() string {
	mode, _ := engine.Mode()
	return mode
}

// Build runs a build of spec.Context inside workspace.
func (b *Backend) Build(ctx context.Context, workspace string, spec lessons.BuildSpec) error {
	df := spec.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	_, err := b.Engine.Build(ctx, engine.BuildOptions{
		ContextDir: filepath.Join(workspace, filepath.FromSlash(spec.Context)), Dockerfile: df,
		Tags: spec.Tags, NoCache: spec.NoCache, Remove: true, Network: "host",
	})
	return err
}

// Run creates a container, runs it attached and waits for it. Its output
// becomes output events, so the narration and the recording hold it. With
// StopAfter, a command still running then gets SIGTERM, and SIGKILL 5
// seconds later.
func (b *Backend) Run(ctx context.Context, spec lessons.RunSpec) error {
	e := b.Engine
	c, err := e.CreateContainer(ctx, engine.ContainerCreateOptions{
		Image: spec.Image, Name: spec.Name, Cmd: spec.Cmd, AutoRemove: spec.Remove,
		NetworkMode: runNetworkMode(spec, isRootless()), Net: engine.NetworkOptions{Publish: spec.Publish},
	})
	if err != nil {
		return err
	}
	if spec.Detach {
		return b.startDetached(ctx, c.ID, spec.Ready)
	}
	stdout := &trace.OutputWriter{Record: e.Emit, Container: c.ID, Stream: "stdout"}
	stderr := &trace.OutputWriter{Record: e.Emit, Container: c.ID, Stream: "stderr"}
	a, err := e.StartAttached(ctx, c.ID, engine.AttachOptions{Stdio: engine.Stdio{Out: stdout, Err: stderr}})
	if err != nil {
		if spec.Remove {
			_ = e.RemoveContainer(context.WithoutCancel(ctx), c.ID, true)
		}
		return err
	}
	stop := stopAfter(ctx, spec.StopAfter, func(sig syscall.Signal) { _ = a.Signal(sig) })
	_, err = a.Wait()
	stop()
	stdout.Flush()
	stderr.Flush()
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// Commit saves a container as an image.
func (b *Backend) Commit(ctx context.Context, spec lessons.CommitSpec) error {
	_, err := b.Engine.Commit(ctx, spec.Container, engine.CommitOptions{Changes: spec.Changes, Ref: spec.Ref, Pause: true})
	return err
}
