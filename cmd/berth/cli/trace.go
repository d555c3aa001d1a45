package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berthkit/berth/lessons"
	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
	"github.com/spf13/cobra"
)

func newTraceCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Show, explain and render recorded traces (for instructors)",
		Long: `Render a trace recorded with --trace (berth build, run, commit) or by a lesson
(--record). FILE may be - for standard input, or lesson:NAME for the recording
shipped with a lesson.`,
		Example: `  berth build --trace build.jsonl -t rommelrico/redis:latest .
  berth trace show build.jsonl --view tree
  berth trace explain build.jsonl
  berth trace html build.jsonl -o build.html
  berth trace show lesson:build-cache --view annotated`,
	}
	cmd.AddCommand(newTraceShowCmd(), newTraceExplainCmd(), newTraceHTMLCmd(), newTraceFollowCmd(g))
	return cmd
}

func newTraceShowCmd() *cobra.Command {
	var viewName string
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Print a trace: the classic console, annotated, or a tree of images, containers and snapshots",
		Long: `Print a trace in one of three views:

  classic    the lines berth build printed (Docker's classic builder output)
  annotated  the same with a plain-words line for every event, as lessons narrate
  tree       every image with the containers created from it, the snapshot taken
             of each container and the image that snapshot became (parent links)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			events, err := readTraceFile(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			st := view.NewStyle(view.ColorFor(out))
			switch viewName {
			case "classic":
				view.RenderClassic(out, cmd.ErrOrStderr(), events)
			case "annotated":
				view.RenderAnnotated(out, events, st)
			case "tree":
				view.RenderTree(out, view.NewModel(events), st)
			default:
				return fmt.Errorf("--view %q: use classic, annotated or tree", viewName)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&viewName, "view", "classic", "classic, annotated or tree")
	return cmd
}

func newTraceExplainCmd() *cobra.Command {
	var whatIf string
	cmd := &cobra.Command{
		Use:   "explain FILE",
		Short: "Every cache decision of every build in the trace, and why",
		Long: `List each step of each build in the trace with its cache decision: the key
(parent image + instruction), hit or miss, and the reason in plain words.
With --what-if DOCKERFILE, also plan that Dockerfile against the cache the
trace recorded, running nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			events, err := readTraceFile(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			st := view.NewStyle(view.ColorFor(out))
			m := view.NewModel(events)
			view.RenderExplain(out, m, nil, st)
			if whatIf == "" {
				return nil
			}
			content, err := os.ReadFile(whatIf)
			if err != nil {
				return fmt.Errorf("--what-if: %w", err)
			}
			plan, err := lessons.IndexTrace(m).Plan(content)
			if err != nil {
				return fmt.Errorf("--what-if %s: %w", whatIf, err)
			}
			fmt.Fprintf(out, "\nWhat if %s were built after these builds (nothing runs):\n", whatIf)
			lessons.RenderPlan(out, plan, st)
			return nil
		},
	}
	cmd.Flags().StringVar(&whatIf, "what-if", "", "also say which steps of this Dockerfile the recorded cache would serve")
	return cmd
}

func newTraceHTMLCmd() *cobra.Command {
	var output, title string
	var projector bool
	cmd := &cobra.Command{
		Use:   "html FILE [SECOND]",
		Short: "Render a trace as one self-contained web page for projecting",
		Long: `Write one HTML page (inline styles and script, nothing fetched from the network)
with every build of the trace: the steps on a timeline, the layer stack of the
result with sizes and the files each step changed, and every cache hit and miss
with its reason. Large type, for a projector.

With --projector the page shows one step per screen in large, high-contrast
type (arrow keys, Space, Home and End move), each with the notes' picture:
image → temporary container → snapshot → new image, with the trace's IDs.

With two files, the page puts the last build of each side by side (a first
build and its rebuild): which steps came from the cache, which ran, and why.`,
		Example: `  berth trace html build.jsonl -o build.html
  berth trace html --projector build.jsonl -o slides.html
  berth trace html first.jsonl second.jsonl -o cmp.html`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if projector && len(args) == 2 {
				return errors.New("--projector shows one trace: give one file, or drop --projector to compare two")
			}
			if len(args) == 2 && args[0] == "-" && args[1] == "-" {
				return errors.New("only one of the two traces can come from stdin (-)")
			}
			var models []*view.Model
			for _, a := range args {
				events, err := readTraceFile(a, cmd.InOrStdin())
				if err != nil {
					return err
				}
				models = append(models, view.NewModel(events))
			}
			var buf bytes.Buffer
			var err error
			if len(models) == 2 {
				err = view.RenderCompareHTML(&buf, models[0], models[1], view.CompareOptions{Title: title, FirstSource: args[0], SecondSource: args[1]})
			} else {
				err = view.RenderHTML(&buf, models[0], view.HTMLOptions{Title: title, Source: args[0], Projector: projector})
			}
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			tmp := output + ".tmp"
			if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", output, err)
			}
			if err := os.Rename(tmp, output); err != nil {
				os.Remove(tmp)
				return fmt.Errorf("write %s: %w", output, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the page to this file (default standard output)")
	cmd.Flags().StringVar(&title, "title", "", "the page's title (default \"Berth build trace\")")
	cmd.Flags().BoolVar(&projector, "projector", false, "one step per screen, large high-contrast type, arrow keys to move")
	return cmd
}

// readTraceFile reads a trace from a file, - (stdin), or lesson:NAME.
func readTraceFile(name string, stdin io.Reader) ([]trace.Event, error) {
	if lesson, ok := strings.CutPrefix(name, "lesson:"); ok {
		return lessons.Recording(lesson)
	}
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open trace: %w", err)
		}
		defer f.Close()
		r = f
	}
	events, err := trace.Read(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%s: the trace is empty", name)
	}
	return events, nil
}
