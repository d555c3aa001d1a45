package trace

import (
	"strings"
	"testing"
	"time"
)

// Plain prints BuildKit's plain progress: numbered blocks for the steps
// that have a Label, output lines with their offset, DONE / CACHED /
// ERROR, and the export block with the image and its full names.
func TestPlainIsBuildKitsFormat(t *testing.T) {
	var out, errOut strings.Builder
	p := NewPlain(&out, &errOut)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	events := []Event{
		{Type: BuildStart, Time: t0, BuildStartInfo: &BuildStartInfo{Dockerfile: "Dockerfile", ContextBytes: 2048}},
		{Type: StepStart, Time: at(0), StepInfo: &StepInfo{Number: 1, Stage: -1, Original: "ARG V=1"}},
		{Type: StepEnd, Time: at(0), StepEndInfo: &StepEndInfo{}},
		{Type: StepStart, Time: at(0), StepInfo: &StepInfo{Number: 2, Label: "[1/3] FROM docker.io/library/busybox:latest"}},
		{Type: StepEnd, Time: at(10), StepEndInfo: &StepEndInfo{DurationMS: 10}},
		{Type: StepStart, Time: at(10), StepInfo: &StepInfo{Number: 3, Label: "[2/3] RUN echo hi"}},
		{Type: Output, Time: at(122), Output: &OutputInfo{Text: "h"}},
		{Type: Output, Time: at(130), Output: &OutputInfo{Text: "i\nthere"}},
		{Type: StepEnd, Time: at(310), StepEndInfo: &StepEndInfo{DurationMS: 300}},
		{Type: StepStart, Time: at(310), StepInfo: &StepInfo{Number: 4, Original: `CMD ["x"]`}},
		{Type: StepEnd, Time: at(311), StepEndInfo: &StepEndInfo{DurationMS: 1}},
		{Type: StepStart, Time: at(311), StepInfo: &StepInfo{Number: 5, Label: "[3/3] COPY a /a"}},
		{Type: CacheProbe, Time: at(312), Cache: &CacheInfo{Hit: true}},
		{Type: StepEnd, Time: at(312), StepEndInfo: &StepEndInfo{Cached: true}},
		{Type: Tag, Build: "b1", Tag: &TagInfo{Image: "sha256:abc", Ref: "app:latest"}},
		{Type: Tag, Build: "b1", Tag: &TagInfo{Image: "sha256:abc", Ref: "localhost:5000/app:1"}},
		{Type: BuildEnd, BuildEndInfo: &BuildEndInfo{Image: "sha256:abc"}},
	}
	for _, e := range events {
		p.Record(e)
	}
	want := `#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#2 [internal] load .dockerignore
#2 DONE 0.0s

#3 [internal] load build context
#3 transferring context: 2.048kB done
#3 DONE 0.0s

#4 [1/3] FROM docker.io/library/busybox:latest
#4 DONE 0.0s

#5 [2/3] RUN echo hi
#5 0.120 hi
#5 0.300 there
#5 DONE 0.3s

#6 [3/3] COPY a /a
#6 CACHED

#7 exporting to image
#7 writing image sha256:abc done
#7 naming to docker.io/library/app:latest done
#7 naming to localhost:5000/app:1 done
#7 DONE 0.0s
`
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestPlainFailedStep(t *testing.T) {
	var out strings.Builder
	p := NewPlain(&out, nil)
	p.Record(Event{Type: StepStart, StepInfo: &StepInfo{Label: "[2/2] RUN exit 3"}})
	p.Record(Event{Type: StepEnd, StepEndInfo: &StepEndInfo{Error: "The command '/bin/sh -c exit 3' returned a non-zero code: 3"}})
	p.Record(Event{Type: BuildEnd, BuildEndInfo: &BuildEndInfo{Error: "x", ExitCode: 1}})
	want := "#1 [2/2] RUN exit 3\n#1 ERROR: The command '/bin/sh -c exit 3' returned a non-zero code: 3\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}
