package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
	"github.com/spf13/cobra"
)

type psOptions struct {
	all     bool
	quiet   bool
	noTrunc bool
	size    bool
	latest  bool
	last    int
	format  string
	filters []string
	out     io.Writer
}

func newPsCmd(g *globalOptions) *cobra.Command {
	opts := &psOptions{}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List containers",
		Long: `List containers: running ones, or all with -a. A container whose process
vanished without its exit being recorded (berth or the machine was killed)
shows as "Exited (unknown)".`,
		Example: `  berth ps
  berth ps -a --format '{{.ID}} {{.Status}}'
  berth ps -aq --filter status=exited`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.out = cmd.OutOrStdout()
			return runPs(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "only display container IDs")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "don't truncate output")
	f.BoolVarP(&opts.size, "size", "s", false, "display total file sizes")
	f.BoolVarP(&opts.latest, "latest", "l", false, "show the latest created container (includes all states)")
	f.IntVarP(&opts.last, "last", "n", -1, "show n last created containers (includes all states)")
	f.StringVar(&opts.format, "format", "", "format output using a custom template or 'table' or 'json'")
	stringArrayVarP(f, &opts.filters, "filter", "f", "filter output based on conditions provided (status, name, id, label, exited, volume)")
	return cmd
}

func runPs(ctx context.Context, g *globalOptions, opts *psOptions) error {
	defer lowerGCPercent(listingGCPercent)()
	match, err := psFilter(opts.filters)
	if err != nil {
		return err
	}
	b, done, err := g.openBackend("")
	if err != nil {
		return err
	}
	defer done()
	all := opts.all || opts.latest || opts.last >= 0 || len(opts.filters) > 0
	keep := func(c *store.Container) bool {
		if !opts.all && len(opts.filters) > 0 && !hasStatusFilter(opts.filters) && !c.State.Running() {
			return false
		}
		return match(c)
	}
	lf, err := psListFormat(opts)
	if err != nil {
		return err
	}
	lines, err := lf.start()
	if err != nil {
		return err
	}
	// Each container becomes its line as it comes and is dropped: the
	// table's column widths need every line, not every record.
	limit := psLimit(opts)
	var buf bytes.Buffer
	render := func(c psContainer) (string, error) {
		return lf.renderRow(&buf, &psRow{psContainer: c, trunc: !opts.noTrunc, size: opts.size})
	}
	if col, ok := b.(containerCollector); ok && limit < 0 {
		// Every line is kept anyway: read each record once.
		rendered, err := col.collectContainers(ctx, all, opts.size, keep, render)
		if err != nil {
			return err
		}
		return lf.writeLines(opts.out, append(lines, rendered...))
	}
	n := 0
	err = eachPsContainer(ctx, b, all, opts.size, keep, func(c psContainer) error {
		if limit >= 0 && n >= limit {
			return nil
		}
		n++
		line, err := render(c)
		lines = append(lines, line)
		return err
	})
	if err != nil {
		return err
	}
	return lf.writeLines(opts.out, lines)
}

// containerStreamer is a backend that hands containers over one at a
// time (the local one); the others list them all first.
type containerStreamer interface {
	eachContainer(ctx context.Context, all, size bool, keep func(*store.Container) bool, fn func(psContainer) error) error
}

// containerCollector is a backend that renders each container as it reads
// its record, once (the local one), and hands back the lines in order.
type containerCollector interface {
	collectContainers(ctx context.Context, all, size bool, keep func(*store.Container) bool, render func(psContainer) (string, error)) ([]string, error)
}

func eachPsContainer(ctx context.Context, b backend, all, size bool, keep func(*store.Container) bool, fn func(psContainer) error) error {
	if s, ok := b.(containerStreamer); ok {
		return s.eachContainer(ctx, all, size, keep, fn)
	}
	list, err := b.Containers(ctx, all, size, keep)
	if err != nil {
		return err
	}
	for _, c := range list {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

var psHeaders = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
	"Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
	"Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES", "Label": "LABEL",
}

// psRow is one container as ps's --format templates see it (docker/cli's
// ContainerContext).
type psRow struct {
	psContainer
	trunc bool
	size  bool
}

// MarshalJSON is --format json's object: every field, as strings, as
// docker ps writes them.
func (r *psRow) MarshalJSON() ([]byte, error) {
	size := "0B"
	if r.size {
		size = r.Size()
	}
	return json.Marshal(map[string]string{
		"ID": r.ID(), "Image": r.Image(), "Command": r.Command(), "CreatedAt": r.CreatedAt(),
		"RunningFor": r.RunningFor(), "Ports": r.Ports(), "State": r.State(), "Status": r.Status(),
		"Size": size, "Names": r.Names(), "Labels": r.Labels(), "Mounts": r.Mounts(),
		"Networks": r.Networks(), "LocalVolumes": r.LocalVolumes(),
	})
}

func (r *psRow) ID() string {
	if r.trunc {
		return r.c.ShortID()
	}
	return r.c.ID
}

func (r *psRow) Image() string {
	if r.c.ImageRef == "" {
		if r.c.Image == "" {
			return "scratch"
		}
		return shortID(r.c.Image)
	}
	if r.imageCurrent {
		return r.c.ImageRef
	}
	if r.trunc {
		return shortID(r.c.Image)
	}
	return r.c.Image
}

func (r *psRow) Command() string {
	cmd := strings.Join(append(append([]string{}, r.c.Config.Entrypoint...), r.c.Config.Cmd...), " ")
	if r.trunc {
		cmd = ellipsis(cmd, 20)
	}
	return strconv.Quote(cmd)
}

func (r *psRow) CreatedAt() string { return createdAt(r.c.Created) }

func (r *psRow) RunningFor() string { return createdSince(r.c.Created) }

func (r *psRow) Ports() string { return containerPorts(r.c) }

func (r *psRow) State() string { return r.c.State.Status }

func (r *psRow) Status() string { return r.status }

func (r *psRow) Size() string {
	return fmt.Sprintf("%s (virtual %s)", humanSizePrecision(float64(r.sizeRw), 3), humanSizePrecision(float64(r.sizeRootFs), 3))
}

func (r *psRow) Names() string { return r.c.Name }

func (r *psRow) Labels() string {
	var kv []string
	for k, v := range r.c.Config.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func (r *psRow) Label(name string) string { return r.c.Config.Labels[name] }

func (r *psRow) Mounts() string { return "" }

func (r *psRow) Networks() string { return r.c.Host.NetworkMode }

// LocalVolumes counts the container's volume mounts, as docker ps.
func (r *psRow) LocalVolumes() string {
	n := 0
	for _, m := range r.c.Mounts {
		if m.Type == volume.TypeVolume {
			n++
		}
	}
	return strconv.Itoa(n)
}

func hasStatusFilter(filters []string) bool {
	for _, f := range filters {
		if strings.HasPrefix(f, "status=") || strings.HasPrefix(f, "exited=") {
			return true
		}
	}
	return false
}

// psFilter builds a matcher from docker ps --filter values (key=value).
func psFilter(filters []string) (func(*store.Container) bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		byKey[k] = append(byKey[k], v)
	}
	return engine.MatchContainers(byKey)
}

// psLimit is how many rows --latest and --last keep (-1: all).
func psLimit(opts *psOptions) int {
	limit := -1
	if opts.latest {
		limit = 1
	}
	if opts.last >= 0 && (limit < 0 || opts.last < limit) {
		limit = opts.last
	}
	return limit
}

// psListFormat is ps's --format, -q, or Docker's table (with SIZE for -s).
func psListFormat(opts *psOptions) (*listFormat, error) {
	format := opts.format
	if opts.quiet {
		format = "{{.ID}}"
	}
	defaultTable := "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
	if opts.size {
		defaultTable += "\t{{.Size}}"
	}
	return newListFormat(format, defaultTable, psHeaders)
}
