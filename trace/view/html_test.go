package view

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/internal/testenv"
)

func renderRecording(t *testing.T, lesson string) (string, *Model) {
	t.Helper()
	m := recordedModel(t, lesson)
	var buf bytes.Buffer
	if err := RenderHTML(&buf, m, HTMLOptions{Source: "lesson:" + lesson}); err != nil {
		t.Fatal(err)
	}
	return buf.String(), m
}

// The page holds every step of every build, and nothing it needs comes
// from the network.
func TestRenderHTML(t *testing.T) {
	for _, name := range recordingNames(t) {
		page, m := renderRecording(t, name)
		for _, b := range m.Builds {
			for _, s := range b.Steps {
				if !strings.Contains(page, fmt.Sprintf(`id="b%d-step-%d"`, b.Index, s.Number())) {
					t.Errorf("%s: build %d step %d is missing", name, b.Index, s.Number())
				}
			}
		}
		// A URL in a build's output (apt-get's mirror) is text; only a
		// reference would be fetched.
		for _, bad := range []string{`href="http`, `href='http`, "<link", " src=", "@import", "url("} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: the page refers to something outside itself (%q)", name, bad)
			}
		}
		if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "<style>") || !strings.HasSuffix(page, "</html>\n") {
			t.Errorf("%s: not a whole page", name)
		}
	}
	page, _ := renderRecording(t, "build-cache")
	if n := strings.Count(page, `data-decision="hit"`); n != 4 {
		t.Errorf("%d cache hits on the timeline, want 4", n)
	}
	if !strings.Contains(page, "A /usr/bin/gcc") || !strings.Contains(page, "instruction-changed") {
		t.Error("the page lacks the files a step changed or a miss's reason")
	}
}

// chromium finds Debian's chromium. Under CI the Makefile installs it, so
// its absence fails there.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testenv.InCI() {
		t.Fatal("CI=true and chromium is not installed (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// startChromium runs headless chromium in the background (it takes
// seconds to start, so the test runs two at once); wait returns its output.
func startChromium(t *testing.T, bin string, args ...string) (wait func() []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	waited := false
	// A failing test must not leave a browser behind.
	t.Cleanup(func() {
		cancel()
		if !waited {
			_ = cmd.Wait()
		}
	})
	return func() []byte {
		t.Helper()
		waited = true
		if err := cmd.Wait(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.Bytes()
	}
}

func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	page, m := renderRecording(t, "build-cache")
	dir := t.TempDir()
	file := filepath.Join(dir, "build.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	waitDOM := startChromium(t, bin, "--dump-dom", "file://"+file)
	waitShot := startChromium(t, bin, "--hide-scrollbars", "--window-size=1600,1000", "--screenshot="+shot, "file://"+file)
	dom := string(waitDOM())
	waitShot()
	for _, b := range m.Builds {
		for _, s := range b.Steps {
			re := regexp.MustCompile(fmt.Sprintf(`<li class="step \w+" id="b%d-step-%d" data-step="%d"[^>]*>`, b.Index, s.Number(), s.Number()))
			if !re.MatchString(dom) {
				t.Errorf("the DOM lacks build %d step %d", b.Index, s.Number())
			}
			if !strings.Contains(dom, fmt.Sprintf("Step %d/%d : %s", s.Number(), s.Info.Total, htmlText(s.Info.Original))) {
				t.Errorf("the DOM lacks the text of build %d step %d", b.Index, s.Number())
			}
		}
	}
	// A blank page compresses to a few kB; this one has text and colored bars.
	checkScreenshot(t, shot, 40_000)
}

// checkScreenshot checks that chromium wrote a 1600x1000 PNG of at least
// minBytes (a blank page compresses to a few kB).
func checkScreenshot(t *testing.T, shot string, minBytes int64) {
	t.Helper()
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != 1600 || cfg.Height != 1000 {
		t.Fatalf("the screenshot is not a 1600x1000 PNG: %v %+v", err, cfg)
	}
	if info.Size() < minBytes {
		t.Errorf("screenshot %s is only %d bytes: the page looks empty", shot, info.Size())
	}
}

// htmlText is how the DOM serializes text: &, < and > escaped.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
