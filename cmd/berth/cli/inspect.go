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
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		DisableFlagsInUseLine: true,
		Short:                 "Return low-level information on images and containers",
		Long: `Print images (as docker image inspect does) and container records as a
JSON array. A name is looked up as a container first, then as an image,
unless --type says which.`,
		Example: `  berth inspect busybox
  berth inspect --format '{{.Config.Cmd}}' busybox
  berth inspect --type container web`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names, opts.out, opts.errOut = args, cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runInspect(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "format output using a Go template (or 'json')")
	cmd.Flags().StringVar(&opts.kind, "type", "", "only inspect objects of this type: image or container")
	cmd.Flags().BoolVarP(&opts.size, "size", "s", false, "display total file sizes if the type is container")
	return cmd
}

func newImageInspectCmd(g *globalOptions) *cobra.Command {
	opts := &inspectOptions{kind: "image"}
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] IMAGE [IMAGE...]",
		DisableFlagsInUseLine: true,
		Short:                 "Display detailed information on one or more images",
		Example:               "  berth image inspect busybox\n  berth image inspect -f '{{.RootFS.Layers}}' busybox",
		Args:                  requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names, opts.out, opts.errOut = args, cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runInspect(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "format output using a Go template (or 'json')")
	return cmd
}

func newContainerInspectCmd(g *globalOptions) *cobra.Command {
	opts := &inspectOptions{kind: "container"}
	cmd := &cobra.Command{
		Use:                   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		DisableFlagsInUseLine: true,
		Short:                 "Display detailed information on one or more containers",
		Example:               "  berth container inspect web\n  berth container inspect -f '{{.State.Running}}' web",
		Args:                  requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names, opts.out, opts.errOut = args, cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runInspect(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "format output using a Go template (or 'json')")
	cmd.Flags().BoolVarP(&opts.size, "size", "s", false, "display total file sizes")
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
		if opts.kind != "image" {
			c, err := eng.Container(ctx, name)
			if err == nil {
				// Docker's shape, the daemon's own answer: {{.State.Running}}.
				resp := daemon.ContainerInspect(eng, c)
				if opts.size {
					// What it wrote, and that plus its image, as ?size=1.
					rw := eng.ContainerSize(c.ID)
					rootfs := rw
					if img, err := eng.LookupImage(c.Image); err == nil {
						rootfs += img.Size
					}
					resp.SizeRw, resp.SizeRootFs = &rw, &rootfs
				}
				found = append(found, containerInspect{InspectResponse: resp, Berth: berthExtras(c)})
				continue
			}
			if !errors.Is(err, store.ErrNotFound) || opts.kind == "container" {
				errs = append(errs, err)
				continue
			}
		}
		img, err := eng.InspectImage(ctx, name)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) && opts.kind == "" {
				err = dockerMessage("No such object: " + name)
			}
			errs = append(errs, err)
			continue
		}
		found = append(found, img)
	}
	if tmpl != nil {
		for _, v := range found {
			out, err := executeInspectTemplate(tmpl, v)
			if err != nil {
				return err
			}
			fmt.Fprintln(opts.out, out)
		}
	} else {
		if found == nil {
			found = []any{}
		}
		data, err := json.MarshalIndent(found, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintln(opts.out, string(data))
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
