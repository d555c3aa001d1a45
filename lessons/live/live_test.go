package live

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/internal/testenv"
	"github.com/berthkit/berth/lessons"
	"github.com/berthkit/berth/trace"
)

func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
			out = append(out, fields[4])
		}
	}
	return out
}

// The real engine runs a lesson live: every claim holds, the recording it
// writes replays, and nothing is left behind.
func TestLiveLessonOnTheEngine(t *testing.T) {
	testenv.RequireOverlay(t)
	if _, err := os.Stat("/usr/bin/busybox"); err != nil {
		t.Skip("no static busybox (apt-get install busybox-static)")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	// The user's root has a busybox image: the lesson copies it.
	userRoot := filepath.Join(tmp, "user")
	user, err := engine.Open(userRoot, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := user.BootstrapBusybox(ctx, engine.BootstrapBusyboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	user.Close()

	for _, name := range []string{"build-cache", "manual-commit"} {
		t.Run(name, func(t *testing.T) {
			sess, err := Prepare(ctx, Options{UserRoot: userRoot, Dir: tmp, Lesson: name, Base: "busybox"})
			if err != nil {
				t.Fatal(err)
			}
			if sess.Base != "busybox" || !strings.Contains(sess.Why, "copied from your berth root") {
				t.Errorf("base %s: %s", sess.Base, sess.Why)
			}
			img, err := sess.Engine.Store.Image("busybox:latest")
			if err != nil || img.ID != res.Image.ID {
				t.Fatalf("the lesson's busybox is not the user's: %v", err)
			}
			l, err := lessons.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			var out, rec bytes.Buffer
			rep, err := lessons.Run(ctx, l, lessons.Options{Mode: lessons.Live, Base: sess.Base, Why: sess.Why,
				Backend: sess.Backend, Workspace: sess.Workspace, Out: &out, Record: &rec})
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if rep.Failed() != 0 || len(rep.Unmatched) != 0 {
				t.Errorf("%d claims failed, unmatched annotations %q\n%s", rep.Failed(), rep.Unmatched, out.String())
			}
			events, err := trace.Read(&rec)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lessons.Run(ctx, l, lessons.Options{Mode: lessons.Replay, Recording: events, Out: &bytes.Buffer{}}); err != nil {
				t.Errorf("the live recording does not replay: %v", err)
			}
			if err := sess.Close(false); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(sess.Dir); !os.IsNotExist(err) {
				t.Errorf("the lesson's directory is still there: %v", err)
			}
			if m := mountsUnder(tmp); len(m) > 0 {
				t.Errorf("mounts left behind: %q", m)
			}
		})
	}
	// The user's root was only read.
	user, err = engine.Open(userRoot, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	imgs, _ := user.Store.Images()
	if len(imgs) != 1 {
		t.Errorf("the user's root has %d images, want only its busybox", len(imgs))
	}
}

func TestChooseBaseWithoutAnything(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no busybox on the PATH
	_, _, err := chooseBase("", nil, "/nowhere", "")
	if err == nil || !strings.Contains(err.Error(), "berth bootstrap busybox") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := chooseBase("windows", nil, "", ""); err == nil {
		t.Error("an unknown base is an error")
	}
	base, why, err := chooseBase("debian", nil, "", "")
	if err != nil || base != "debian" || !strings.Contains(why, "as asked") {
		t.Errorf("%s %s %v", base, why, err)
	}
}

// Without alpine at hand, a debian base (real redis) is chosen over
// busybox's stand-in whenever one can be made: mmdebstrap installed, or a
// tarball it made cached. Nothing is asked of Docker Hub.
func TestChooseBasePrefersDebianOffline(t *testing.T) {
	bin := t.TempDir()
	t.Setenv("PATH", bin)
	if err := os.WriteFile(filepath.Join(bin, "mmdebstrap"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	base, why, err := chooseBase("", nil, "/nowhere", "")
	if err != nil || base != "debian" || !strings.Contains(why, "a Debian mirror is enough for `berth bootstrap debian`") || !strings.Contains(why, "lessons do not pull it unless asked") {
		t.Errorf("with mmdebstrap: %s %q %v", base, why, err)
	}
	t.Setenv("PATH", t.TempDir())
	cache := t.TempDir()
	if err := os.WriteFile(filepath.Join(cache, "bookworm-amd64-minbase-1.tar"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if base, _, err := chooseBase("", nil, "/nowhere", cache); err != nil || base != "debian" {
		t.Errorf("with a cached tarball: %s %v", base, err)
	}
	if _, _, err := chooseBase("", nil, "/nowhere", t.TempDir()); !errors.Is(err, ErrNoBase) {
		t.Errorf("with nothing: %v", err)
	}
}

// The backend's EngineMode is the engine's own word, and the lessons'
// `if mode=` conditions use the same words: as root here, "root".
func TestBackendEngineMode(t *testing.T) {
	if lessons.ModeRoot != engine.ModeRoot || lessons.ModeRootless != engine.ModeRootless {
		t.Fatalf("lessons' modes %q/%q differ from the engine's %q/%q", lessons.ModeRoot, lessons.ModeRootless, engine.ModeRoot, engine.ModeRootless)
	}
	want, _ := engine.Mode()
	if got := (&Backend{}).EngineMode(); got != want {
		t.Fatalf("EngineMode() = %q, engine.Mode() = %q", got, want)
	}
}
