package trace

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Plain renders a build as BuildKit's --progress=plain prints it, so that
// a user of a current Docker recognises the screen:
//
//	#1 [internal] load build definition from Dockerfile
//	#1 DONE 0.0s
//
//	#2 [internal] load .dockerignore
//	#2 DONE 0.0s
//
//	#3 [internal] load build context
//	#3 transferring context: 2.05kB done
//	#3 DONE 0.0s
//
//	#4 [1/2] FROM docker.io/library/busybox:latest
//	#4 DONE 0.0s
//
//	#5 [2/2] RUN echo hi
//	#5 0.112 hi
//	#5 DONE 0.3s
//
//	#6 exporting to image
//	#6 writing image sha256:94de9090842b... done
//	#6 naming to docker.io/library/app:latest done
//	#6 DONE 0.0s
//
// Only the steps BuildKit shows as vertices (StepInfo.Label) get a block;
// a cached one ends with "#n CACHED", a failed one with "#n ERROR: ...".
// The steps are those of the classic builder, run one after the other.
type Plain struct {
	mu     sync.Mutex
	Out    io.Writer
	Err    io.Writer
	vertex int       // number of the last block opened
	open   bool      // a step's block is open (its DONE not printed)
	start  time.Time // when the open block started
	cached bool
	line   strings.Builder // output not yet ended by a newline
	tagged []string
}

// NewPlain returns a Plain renderer writing to out, warnings to err.
func NewPlain(out, err io.Writer) *Plain { return &Plain{Out: out, Err: err} }

func (p *Plain) block(name string) {
	if p.vertex > 0 {
		fmt.Fprintln(p.Out)
	}
	p.vertex++
	fmt.Fprintf(p.Out, "#%d %s\n", p.vertex, name)
}

// Record renders one event.
func (p *Plain) Record(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Type {
	case BuildStart:
		if i := e.BuildStartInfo; i != nil {
			p.block("[internal] load build definition from " + baseName(i.Dockerfile))
			fmt.Fprintf(p.Out, "#%d DONE 0.0s\n", p.vertex)
			p.block("[internal] load .dockerignore")
			fmt.Fprintf(p.Out, "#%d DONE 0.0s\n", p.vertex)
			p.block("[internal] load build context")
			fmt.Fprintf(p.Out, "#%d transferring context: %s done\n#%d DONE 0.0s\n", p.vertex, HumanSize(i.ContextBytes), p.vertex)
		}
	case StepStart:
		if i := e.StepInfo; i != nil && i.Label != "" {
			p.block(i.Label)
			p.open, p.start, p.cached = true, e.Time, false
		}
	case CacheProbe:
		if i := e.Cache; i != nil && i.Hit {
			p.cached = true
		}
	case Output:
		if i := e.Output; i != nil && p.open {
			p.output(e.Time, i.Text)
		}
	case StepEnd:
		if i := e.StepEndInfo; i != nil && p.open {
			p.endStep(i)
		}
	case Tag:
		if i := e.Tag; i != nil && e.Build != "" {
			p.tagged = append(p.tagged, i.Ref)
		}
	case BuildEnd:
		if i := e.BuildEndInfo; i != nil && i.Error == "" && i.Image != "" {
			p.export(i.Image)
		}
	case Message:
		if i := e.Message; i != nil && p.Err != nil {
			fmt.Fprintln(p.Err, i.Text)
		}
	}
}

// output prints a step's output line by line, each with the seconds since
// the step started, as BuildKit's "#5 0.112 hi".
func (p *Plain) output(at time.Time, text string) {
	for text != "" {
		chunk, rest, complete := strings.Cut(text, "\n")
		p.line.WriteString(chunk)
		text = rest
		if !complete {
			return
		}
		p.flushLine(at)
	}
}

func (p *Plain) flushLine(at time.Time) {
	secs := at.Sub(p.start).Seconds()
	if secs < 0 {
		secs = 0
	}
	fmt.Fprintf(p.Out, "#%d %.3f %s\n", p.vertex, secs, p.line.String())
	p.line.Reset()
}

func (p *Plain) endStep(i *StepEndInfo) {
	if p.line.Len() > 0 {
		p.flushLine(p.start.Add(time.Duration(i.DurationMS) * time.Millisecond))
	}
	p.open = false
	switch {
	case i.Error != "":
		fmt.Fprintf(p.Out, "#%d ERROR: %s\n", p.vertex, i.Error)
	case p.cached:
		fmt.Fprintf(p.Out, "#%d CACHED\n", p.vertex)
	default:
		fmt.Fprintf(p.Out, "#%d DONE %.1fs\n", p.vertex, float64(i.DurationMS)/1000)
	}
}

// export is BuildKit's last block: the image written and its names.
func (p *Plain) export(image string) {
	p.block("exporting to image")
	fmt.Fprintf(p.Out, "#%d writing image %s done\n", p.vertex, image)
	for _, ref := range p.tagged {
		fmt.Fprintf(p.Out, "#%d naming to %s done\n", p.vertex, fullName(ref))
	}
	fmt.Fprintf(p.Out, "#%d DONE 0.0s\n", p.vertex)
	p.tagged = nil
}

// fullName spells a familiar name ("app:latest") in full, as BuildKit's
// "naming to docker.io/library/app:latest" does.
func fullName(ref string) string {
	first, _, hasSlash := strings.Cut(ref, "/")
	switch {
	case !hasSlash:
		return "docker.io/library/" + ref
	case strings.ContainsAny(first, ".:") || first == "localhost":
		return ref
	default:
		return "docker.io/" + ref
	}
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}
