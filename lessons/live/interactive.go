package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/lessons"
	"github.com/berthkit/berth/trace/view"
)

// ErrStopped is returned by ManualCommit when the attendee typed q.
var ErrStopped = errors.New("lesson stopped")

// ManualOptions configure ManualCommit.
type ManualOptions struct {
	Out   io.Writer
	Style view.Style
	// Lines are the lines typed into the lesson's own terminal: "q" stops
	// it (nil: nothing is read).
	Lines <-chan string
	// Poll is how often the store is looked at (default 300ms).
	Poll time.Duration
}

// manual is one run of the interactive manual-commit lesson.
type manual struct {
	s     *Session
	o     ManualOptions
	st    view.Style
	base  *lessons.BaseProfile
	steps int // steps seen in the store, for the closing line
}

// ManualCommit is the notes' "Manual Image Generation with Docker Commit",
// done by the attendee: `berth run -it BASE sh` in one terminal, the
// install typed into that shell, then `berth ps`, `berth commit -c
// 'CMD ["redis-server"]' ID` and `berth run IMAGE` in a second one. The
// lesson tells what to type, then notices each step by polling the
// lesson's store (container records, their changes, images); it holds no
// lock while it waits, so every berth command of the attendee runs at once.
func ManualCommit(ctx context.Context, s *Session, o ManualOptions) error {
	if o.Poll <= 0 {
		o.Poll = 300 * time.Millisecond
	}
	base, err := lessons.Profile(s.Base)
	if err != nil {
		return err
	}
	m := &manual{s: s, o: o, st: o.Style, base: base}
	baseImg, err := s.Engine.LookupImage(s.Base + ":latest")
	if err != nil {
		return fmt.Errorf("the lesson's base: %w", err)
	}
	m.intro()
	box, err := m.waitShell(ctx, baseImg.ID.String())
	if err != nil {
		return err
	}
	if err := m.waitInstall(ctx, box); err != nil {
		return err
	}
	img, err := m.waitCommit(ctx, box)
	if err != nil {
		return err
	}
	if err := m.waitRun(ctx, img); err != nil {
		return err
	}
	m.say("\nIt works, but nothing records how the image was made, and there is no cache: to change it you would repeat the steps by hand. That is why Dockerfiles are the usual way, and commit is for quick experiments.")
	m.say("Stop redis with Ctrl-C and leave the shell with exit; the lesson removes its containers as it ends.")
	m.say("\n" + m.st.OK(fmt.Sprintf("End of lesson manual-commit: all %d steps were seen in the store.", m.steps)))
	return nil
}

func (m *manual) say(format string, args ...any) {
	fmt.Fprintf(m.o.Out, format+"\n", args...)
}

func (m *manual) cmd(text string) { m.say("    %s", m.st.Cmd(text)) }

func (m *manual) seen(format string, args ...any) {
	m.steps++
	m.say("  %s %s", m.st.OK("✓"), fmt.Sprintf(format, args...))
}

func (m *manual) intro() {
	rule := strings.Repeat("═", 72)
	m.say("%s", m.st.Dim(rule))
	m.say("%s", m.st.Heading("manual-commit — Making an image by hand with commit"))
	m.say(`notes: "Manual Image Generation with Docker Commit" · about 10 min`)
	m.say("%s you type the notes' commands in two terminals of your own; this lesson watches its berth root and explains each step as it happens.", m.st.OK("LIVE, interactive:"))
	if m.s.Why != "" {
		m.say("%s", m.s.Why)
	}
	m.say("Base: %s. %s", m.st.Cmd(m.base.Name), m.base.Adapt)
	m.say("%s", m.st.Dim(rule))
	m.say("\nA Dockerfile is not the only way to get an image: you can start a container, change it by hand, and save its files as an image with commit.")
	m.say("\nOpen two terminals (or tmux panes). In each, point berth at this lesson's own root, so what you make stays out of yours:")
	m.cmd("export BERTH_ROOT=" + m.s.Root)
}

// waitShell waits for a running container made from the base image.
func (m *manual) waitShell(ctx context.Context, baseID string) (*store.Container, error) {
	m.say("\n%s", m.st.Heading("Terminal 1: a shell in a container"))
	m.say("Start a shell in a new container made from the base, as the notes do:")
	m.cmd("berth run -it " + m.base.Ref + " sh")
	var box *store.Container
	err := m.wait(ctx, "a running container from "+m.base.Ref, func() (bool, error) {
		cs, err := m.s.Engine.ListContainers(ctx, false)
		if err != nil {
			return false, err
		}
		for _, c := range cs {
			if c.Image == baseID && c.State.Status == store.StatusRunning {
				box = c
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	m.seen("container %s is running %s from image %s: a plain container from the base, no Dockerfile involved.", box.ShortID(), strings.Join(box.Config.Cmd, " "), shortHex(baseIDOf(box)))
	return box, nil
}

// waitInstall waits until redis-server is among the container's changes.
func (m *manual) waitInstall(ctx context.Context, box *store.Container) error {
	m.say("\nIn that shell, install redis by hand (the notes type `apk add --update redis`; on %s):", m.base.Name)
	m.cmd(m.base.Install["redis"])
	var found string
	var changes int
	err := m.wait(ctx, "redis-server in container "+box.ShortID(), func() (bool, error) {
		if err := m.alive(ctx, box, "redis was installed"); err != nil {
			return false, err
		}
		cs, err := m.s.Engine.ContainerChanges(box.ID)
		if err != nil {
			return false, err
		}
		for _, c := range cs {
			if c.Kind != 'D' && path.Base(c.Path) == "redis-server" && strings.Contains(c.Path, "bin/") {
				found, changes = c.Path, len(cs)
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	m.seen("%s is in the container's own files now (%d paths added or changed on top of the base: `berth diff %s` lists them).", found, changes, box.ShortID())
	return nil
}

// waitCommit waits for an image committed with CMD ["redis-server"].
func (m *manual) waitCommit(ctx context.Context, box *store.Container) (*store.Image, error) {
	before, err := m.imageIDs()
	if err != nil {
		return nil, err
	}
	m.say("\n%s", m.st.Heading("Terminal 2: see the container, and save it as an image"))
	m.say("Leave the shell running. In the second terminal, list the running containers:")
	m.cmd("berth ps")
	m.say("It shows %s, running sh. Take the snapshot, setting the image's start-up command:", box.ShortID())
	m.cmd(`berth commit -c 'CMD ["redis-server"]' ` + box.ShortID())
	var img *store.Image
	err = m.wait(ctx, "a new image with CMD [\"redis-server\"]", func() (bool, error) {
		imgs, err := m.s.Engine.Images()
		if err != nil {
			return false, err
		}
		for _, i := range imgs {
			if !before[i.ID.String()] && slices.Equal(i.Config.Config.Cmd, []string{"redis-server"}) {
				img = i
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	m.seen("commit saved image %s: %d layers, the base's and one more holding what you did by hand; its command is [\"redis-server\"] (without -c it would be sh, what the container ran). The container was paused for a moment while its files were read, and runs on.",
		img.ShortID(), len(img.Config.RootFS.DiffIDs))
	return img, nil
}

// waitRun waits for a container of the committed image, then asks its
// redis for PONG from inside.
func (m *manual) waitRun(ctx context.Context, img *store.Image) error {
	m.say("\nStart the new image by its ID, as the notes do (the command is the image's: redis-server):")
	m.cmd("berth run " + img.ShortID())
	var c *store.Container
	err := m.wait(ctx, "a container of image "+img.ShortID(), func() (bool, error) {
		cs, err := m.s.Engine.ListContainers(ctx, true)
		if err != nil {
			return false, err
		}
		for _, x := range cs {
			if x.Image == img.ID.String() && x.State.Status != store.StatusCreated {
				c = x
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	m.seen("container %s runs %s from your image.", c.ShortID(), strings.Join(append(slices.Clone(c.Config.Entrypoint), c.Config.Cmd...), " "))
	if m.base.Name == "busybox" {
		m.say("  (busybox's redis-server is a stand-in script: it prints a line and exits, so there is no server to ping.)")
		return nil
	}
	pong, err := m.ping(ctx, c)
	if err != nil {
		return fmt.Errorf("redis in container %s did not answer: %w", c.ShortID(), err)
	}
	m.seen("redis answers: `berth exec %s redis-cli ping` says %s.", c.ShortID(), pong)
	return nil
}

// ping runs redis-cli ping in the container until redis is ready.
func (m *manual) ping(ctx context.Context, c *store.Container) (string, error) {
	var last error
	for range 50 {
		var out strings.Builder
		p, err := m.s.Engine.ExecContainer(ctx, c.ID, engine.ExecOptions{Cmd: []string{"redis-cli", "ping"}, Stdio: engine.Stdio{Out: &out, Err: &out}})
		if err == nil {
			code, werr := p.Wait()
			if werr == nil && code == 0 && strings.TrimSpace(out.String()) == "PONG" {
				return "PONG", nil
			}
			last = fmt.Errorf("redis-cli ping: exit %d: %s", code, strings.TrimSpace(out.String()))
		} else {
			last = err
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return "", err
		}
	}
	return "", last
}

// alive fails when the container stopped before the step was done.
func (m *manual) alive(ctx context.Context, box *store.Container, what string) error {
	c, err := m.s.Engine.Container(ctx, box.ID)
	if err != nil {
		return err
	}
	if c.State.Status != store.StatusRunning {
		return fmt.Errorf("container %s stopped (%s) before %s: start again with `berth lesson manual-commit`, and leave the shell open until the lesson says so", box.ShortID(), c.State.Status, what)
	}
	return nil
}

func (m *manual) imageIDs() (map[string]bool, error) {
	imgs, err := m.s.Engine.Images()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, i := range imgs {
		out[i.ID.String()] = true
	}
	return out, nil
}

// wait polls done until it holds, the context ends, or q is typed. Nothing
// is locked between polls.
func (m *manual) wait(ctx context.Context, what string, done func() (bool, error)) error {
	m.say("  %s", m.st.Dim("… waiting for "+what+" (Ctrl-C or q then Enter stops the lesson)"))
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case line, open := <-m.o.Lines:
			if !open {
				m.o.Lines = nil // stdin closed: only Ctrl-C stops now
			} else if strings.TrimSpace(line) == "q" {
				return ErrStopped
			}
		case <-time.After(m.o.Poll):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func baseIDOf(c *store.Container) string { return c.Image }

func shortHex(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
