package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/berthkit/berth/daemon"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

// inspectOptions are `berth inspect`'s and `berth image inspect`'s flags.
type inspectOptions struct {
	format string
	size   bool
	kind   string // "", "image" or "container"
	names  []string
	out    io.Writer
	errOut io.Writer
}

func newInspectCmd(g *globalOptions) *cobra.Command {
	opts := &inspectOptions{}
	cmd := inspectCommand(g, opts, &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on images and containers",
		Long: `Print images (as docker image inspect does) and container records as a
JSON array. A name is looked up as a container first, then as an image,
unless --type says which.`,
		Example: `  berth inspect busybox
  berth inspect --format '{{.Config.Cmd}}' busybox
  berth inspect --type container web`,
	})
	cmd.Flags().StringVar(&opts.kind, "type", "", "only inspect objects of this type: image or container")
	cmd.Flags().BoolVarP(&opts.size, "size", "s", false, "display total file sizes if the type is container")
	return cmd
}

func newImageInspectCmd(g *globalOptions) *cobra.Command {
	opts := &inspectOptions{kind: "image"}
	return inspectCommand(g, opts, &cobra.Command{
		Use:     "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short:   "Display detailed information on one or more images",
		Example: "  berth image inspect busybox\n  berth image inspect -f '{{.RootFS.Layers}}' busybox",
	})
}

func newContainerInspectCmd(g *globalOptions) *cobra.Command {
	opts := &inspectOptions{kind: "container"}
	cmd := inspectCommand(g, opts, &cobra.Command{
		Use:     "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short:   "Display detailed information on one or more containers",
		Example: "  berth container inspect web\n  berth container inspect -f '{{.State.Running}}' web",
	})
	cmd.Flags().BoolVarP(&opts.size, "size", "s", false, "display total file sizes")
	return cmd
}

// inspectCommand completes cmd as one of the inspect verbs: its arguments,
// its run and its --format flag.
func inspectCommand(g *globalOptions, opts *inspectOptions, cmd *cobra.Command) *cobra.Command {
	cmd.DisableFlagsInUseLine = true
	cmd.Args = requireArgs(1, -1)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		opts.names, opts.out, opts.errOut = args, cmd.OutOrStdout(), cmd.ErrOrStderr()
		return runInspect(cmd.Context(), g, opts)
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "format output using a Go template (or 'json')")
	return cmd
}

func runInspect(ctx context.Context, g *globalOptions, opts *inspectOptions) error {
	switch opts.kind {
	case "", "image", "container":
	default:
		return fmt.Errorf("%q is not a valid value for --type", opts.kind)
	}
	var tmpl *template.Template
	if opts.format != "" && opts.format != "json" {
		var err error
		tmpl, err = parseTemplate(opts.format)
		if err != nil {
			return err
		}
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	var found []any
	var errs []error
	for _, name := range opts.names {
		v, err := inspectOne(ctx, eng, opts, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found = append(found, v)
	}
	if err := printInspected(opts.out, tmpl, found); err != nil {
		return err
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// inspectOne looks name up as a container first (unless --type says
// image), then as an image.
func inspectOne(ctx context.Context, eng *engine.Engine, opts *inspectOptions, name string) (any, error) {
	if opts.kind != "image" {
		c, err := eng.Container(ctx, name)
		if err == nil {
			return inspectContainer(eng, c, opts.size), nil
		}
		if !errors.Is(err, store.ErrNotFound) || opts.kind == "container" {
			return nil, err
		}
	}
	img, err := eng.InspectImage(ctx, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) && opts.kind == "" {
			err = dockerMessage("No such object: " + name)
		}
		return nil, err
	}
	return img, nil
}

// inspectContainer is Docker's shape, the daemon's own answer
// ({{.State.Running}}), with Berth's extras.
func inspectContainer(eng *engine.Engine, c *store.Container, size bool) containerInspect {
	resp := daemon.ContainerInspect(eng, c)
	if size {
		// What it wrote, and that plus its image, as ?size=1.
		rw := eng.ContainerSize(c.ID)
		rootfs := rw
		if img, err := eng.LookupImage(c.Image); err == nil {
			rootfs += img.Size
		}
		resp.SizeRw, resp.SizeRootFs = &rw, &rootfs
	}
	return containerInspect{InspectResponse: resp, Berth: berthExtras(c)}
}

// printInspected prints what was found: through the template, or as a
// JSON array (empty, not null, when nothing was).
func printInspected(out io.Writer, tmpl *template.Template, found []any) error {
	if tmpl != nil {
		for _, v := range found {
			s, err := executeInspectTemplate(tmpl, v)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, s)
		}
		return nil
	}
	if found == nil {
		found = []any{}
	}
	data, err := json.MarshalIndent(found, "", "    ")
	if err != nil {
		return err
	}
	fmt.Fprintln(out, string(data))
	return nil
}

// executeInspectTemplate runs tmpl as docker/cli's TemplateInspector does:
// on the typed value first ({{join .Config.Cmd " "}} needs a []string), then,
// if that fails, on the JSON as maps ({{.Id}}, a field under its JSON name).
func executeInspectTemplate(tmpl *template.Template, v any) (string, error) {
	var buf bytes.Buffer
	typedErr := tmpl.Execute(&buf, v)
	if typedErr == nil {
		return buf.String(), nil
	}
	raw, err := jsonValue(v)
	if err != nil {
		return "", err
	}
	buf.Reset()
	if err := tmpl.Execute(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// dockerMessage is an error in Docker's exact words, capital letter included.
type dockerMessage string

func (m dockerMessage) Error() string { return string(m) }

// jsonValue is v as encoding/json sees it: maps, slices, strings, numbers.
func jsonValue(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	err = dec.Decode(&out)
	return out, err
}

// containerInspect is Docker's container JSON plus one object of Berth's
// own: what a learner (or a test) needs to see of the plumbing that Docker
// keeps to itself. Docker's clients ignore the extra key.
type containerInspect struct {
	container.InspectResponse
	Berth containerExtras `json:"Berth"`
}

// containerExtras: the process that supervises the container (the
// attached CLI, or a detached container's shim) and, while it runs, its
// network endpoints with the host side of each veth pair.
type containerExtras struct {
	Supervisor int                   `json:"Supervisor"`
	Purpose    string                `json:"Purpose"`
	Endpoints  []store.EndpointState `json:"Endpoints"`
}

func berthExtras(c *store.Container) containerExtras {
	eps := c.Net.Endpoints
	if eps == nil {
		eps = []store.EndpointState{}
	}
	return containerExtras{Supervisor: c.State.Supervisor, Purpose: c.Purpose, Endpoints: eps}
}
