package trace

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// Console renders events as Docker's classic builder prints them:
//
//	Sending build context to Berth engine  2.048kB
//	Step 1/3 : FROM alpine
//	 ---> 3f53bb00af94
//	Step 2/3 : RUN apk add --update redis
//	 ---> Running in 6b5e5b9f6c1a
//	...the command's output...
//	Removing intermediate container 6b5e5b9f6c1a
//	 ---> 94de9090842b
//	Successfully built 94de9090842b
//	Successfully tagged rommelrico/redis:latest
//
// Out receives the progress lines and command output; Err receives warnings.
// The final error line (`The command ... returned a non-zero code: 3`) is left to
// the caller, which prints it with its own prefix rules.
type Console struct {
	mu    sync.Mutex
	Out   io.Writer
	Err   io.Writer
	built bool
	atBOL bool // the last byte written to Out ended a line
	// metaStep: the current step is an ARG before the first FROM (stage
	// -1), for which Docker prints the Step line and nothing else.
	metaStep bool
}

// NewConsole returns a Console writing to out and err.
func NewConsole(out, err io.Writer) *Console {
	return &Console{Out: out, Err: err, atBOL: true}
}

func (c *Console) printf(format string, args ...any) {
	if !c.atBOL {
		// Command output that did not end with a newline: finish its line so
		// the next step line starts clean, as Docker does.
		fmt.Fprint(c.Out, "\n")
	}
	fmt.Fprintf(c.Out, format, args...)
	c.atBOL = true
}

// Record renders one event.
func (c *Console) Record(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e.Type {
	case BuildStart:
		if i := e.BuildStartInfo; i != nil {
			c.built = false
			c.printf("Sending build context to Berth engine  %s\n", HumanSize(i.ContextBytes))
		}
	case StepStart:
		if i := e.StepInfo; i != nil {
			c.metaStep = i.Stage < 0
			c.printf("Step %d/%d : %s\n", i.Number, i.Total, i.Original)
		}
	case CacheProbe:
		if i := e.Cache; i != nil && i.Hit {
			c.printf(" ---> Using cache\n")
		}
	case ContainerCreate:
		if i := e.Container; i != nil && i.Purpose == "build" {
			c.printf(" ---> Running in %s\n", ShortID(i.ID))
		}
	case ContainerRemove:
		if i := e.Container; i != nil && i.Purpose == "build" {
			c.printf("Removing intermediate container %s\n", ShortID(i.ID))
		}
	case Output:
		if i := e.Output; i != nil && i.Text != "" {
			fmt.Fprint(c.Out, i.Text)
			c.atBOL = strings.HasSuffix(i.Text, "\n")
		}
	case StepEnd:
		if i := e.StepEndInfo; i != nil && i.Error == "" && !c.metaStep {
			// FROM scratch has no image: Docker prints " ---> " alone.
			c.printf(" ---> %s\n", ShortID(i.Image))
		}
	case Tag:
		if i := e.Tag; i != nil && e.Build != "" {
			if !c.built {
				c.printf("Successfully built %s\n", ShortID(i.Image))
				c.built = true
			}
			c.printf("Successfully tagged %s\n", i.Ref)
		}
	case BuildEnd:
		if i := e.BuildEndInfo; i != nil && i.Error == "" && i.Image != "" && !c.built {
			c.printf("Successfully built %s\n", ShortID(i.Image))
			c.built = true
		}
	case Message:
		if i := e.Message; i != nil && c.Err != nil {
			fmt.Fprintln(c.Err, i.Text)
		}
	}
}

// ShortID returns the 12-hex form Docker shows for an image or container ID,
// with or without the "sha256:" prefix.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// HumanSize formats bytes with decimal units and four significant digits, as
// Docker does ("2.048kB", "7.05MB", "512B").
func HumanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	size := float64(n)
	i := 0
	for size >= 1000 && i < len(units)-1 {
		size /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", size, units[i])
}
