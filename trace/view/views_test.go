package view

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestRenderClassic(t *testing.T) {
	events := recording(t, "build-process")
	var out, errOut bytes.Buffer
	RenderClassic(&out, &errOut, events)
	text := out.String()
	re := regexp.MustCompile(`(?m)^Sending build context to Berth engine  \S+\nStep 1/3 : FROM debian\n ---> [0-9a-f]{12}\nStep 2/3 : RUN apt-get update && apt-get install -y redis-server\n ---> Running in [0-9a-f]{12}\n(?:.*\n)*?Setting up redis-server .*\n(?:.*\n)*?Removing intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\nStep 3/3 : CMD \["redis-server"\]\n ---> Running in [0-9a-f]{12}\nRemoving intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\nSuccessfully built [0-9a-f]{12}\n$`)
	if !re.MatchString(text) {
		t.Errorf("classic view:\n%s", text)
	}
	if strings.Contains(text+errOut.String(), "berth-lesson") {
		t.Error("lesson markers leaked into the classic view")
	}
}

func TestRenderTree(t *testing.T) {
	m := recordedModel(t, "build-process")
	var out bytes.Buffer
	RenderTree(&out, m, Style{})
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^image [0-9a-f]{12}  base image \(FROM debian\)$`),
		regexp.MustCompile(`^└── intermediate container [0-9a-f]{12}  step 2 · ran /bin/sh -c apt-get update && apt-get install -y redis-server · exit 0 · removed$`),
		regexp.MustCompile(`^    ├── snapshot: \d+ added, \d+ changed, \d+ deleted, [0-9.]+MB → layer sha256:[0-9a-f]{12} \([0-9.]+MB\)$`),
		regexp.MustCompile(`^    └── image [0-9a-f]{12}  build 1 step 2: RUN apt-get update && apt-get install -y redis-server · 2 layers · CMD \["bash"\]$`),
		regexp.MustCompile(`^        └── intermediate container [0-9a-f]{12}  step 3 · never started \(/bin/sh -c #\(nop\)  CMD \["redis-server"\]\) · removed$`),
		regexp.MustCompile(`^            ├── no snapshot: nothing changed, no layer$`),
		regexp.MustCompile(`^            └── image [0-9a-f]{12}  build 1 step 3: CMD \["redis-server"\] · 2 layers · CMD \["redis-server"\] · result of build 1$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("tree:\n%s", out.String())
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d: %q does not match %s", i+1, lines[i], re)
		}
	}

	// A commit hangs the new image under the container it was taken from.
	out.Reset()
	RenderTree(&out, recordedModel(t, "manual-commit"), Style{})
	if !regexp.MustCompile(`(?m)^image [0-9a-f]{12}  not made in this trace\n└── run container [0-9a-f]{12}  name redis-box · ran sh -c apt-get update && apt-get install -y redis-server( · network bridge [0-9.]+)? · exit 0\n    ├── snapshot: \d+ added.*\n    └── image [0-9a-f]{12}  committed from container [0-9a-f]{12} · 2 layers · CMD \["redis-server"\]$`).MatchString(out.String()) {
		t.Errorf("commit tree:\n%s", out.String())
	}
}

func TestRenderExplain(t *testing.T) {
	m := recordedModel(t, "build-cache")
	var out bytes.Buffer
	RenderExplain(&out, m, nil, Style{})
	text := out.String()
	if n := strings.Count(text, "  HIT "); n != 4 {
		t.Errorf("%d hits, want 4 (build 2 step 2, build 3 steps 2-4)", n)
	}
	if n := strings.Count(text, "  MISS "); n != 7 {
		t.Errorf("%d misses, want 7 (build 1 steps 2-3, build 2 steps 3-4, build 4 steps 2-4)", n)
	}
	for _, want := range []string{"Build 1 (", "Build 4 (", "new-instruction: nothing has been built on parent", "instruction-changed: last time, parent", "earlier-miss: step 3 ran"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain lacks %q:\n%s", want, text)
		}
	}
}

func TestLayerStack(t *testing.T) {
	m := recordedModel(t, "build-cache")
	rows := LayerStack(m, m.Builds[2]) // build 3: every step from the cache
	if len(rows) != 4 || rows[0].Step.Number() != 4 || rows[3].Step.Info.Instruction != "FROM" {
		t.Fatalf("rows %+v", rows)
	}
	if !rows[0].Empty || rows[1].Bytes == 0 || rows[2].Bytes == 0 {
		t.Errorf("CMD adds nothing, the two RUNs add layers: %+v", rows)
	}
	if rows[1].MadeBy == nil || rows[1].MadeBy.Build.Index != 2 || rows[2].MadeBy.Build.Index != 1 {
		t.Error("cached layers should point at the build that made them")
	}
	if !strings.Contains(rows[3].Summary, "1 layer") {
		t.Errorf("base: %s", rows[3].Summary)
	}
	var out bytes.Buffer
	RenderLayers(&out, m, Style{})
	// The trace lists the first paths only; "and N more" counts them all.
	if !strings.Contains(out.String(), "A /etc/init.d/redis-server") || !strings.Contains(out.String(), "A /etc/alternatives/cc") ||
		!regexp.MustCompile(`\+1 layer, \S+, \S+ compressed \((\d+) added, (\d+) changed, 0 deleted\)`).MatchString(out.String()) {
		t.Errorf("layers view:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "… and 194 more listed, then more the trace does not list") || !strings.Contains(out.String(), "… and 161 more\n") {
		t.Errorf("layers view:\n%s", out.String())
	}
}
