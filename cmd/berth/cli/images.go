package cli

import (
	"bytes"
	"context"
	"io"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// imagesOptions are `berth images`' flags.
type imagesOptions struct {
	all       bool
	digests   bool
	noTrunc   bool
	quiet     bool
	format    string
	filters   []string
	reference string
	out       io.Writer
}

func newImagesCmd(g *globalOptions) *cobra.Command {
	return newImageListCmd(g, "images [OPTIONS] [REPOSITORY[:TAG]]", nil)
}

// newImageListCmd is `images` and `image ls`.
func newImageListCmd(g *globalOptions, use string, aliases []string) *cobra.Command {
	opts := &imagesOptions{}
	cmd := &cobra.Command{
		Use:                   use,
		DisableFlagsInUseLine: true,
		Aliases:               aliases,
		Short:                 "List images",
		Long: `List the images in the store, newest first, one line per name. Untagged
images show as <none>; intermediate images (untagged parents of other
images, such as build steps) only with --all.`,
		Example: `  berth images
  berth images busybox
  berth images -a --digests
  berth images --format '{{.Repository}}:{{.Tag}} {{.Size}}'
  berth images --filter dangling=true -q`,
		Args: requireArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.reference = args[0]
			}
			opts.out = cmd.OutOrStdout()
			return runImages(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "show all images (by default intermediate images are hidden)")
	f.BoolVar(&opts.digests, "digests", false, "show digests")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "don't truncate output")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "only show image IDs")
	f.StringVar(&opts.format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	stringArrayVarP(f, &opts.filters, "filter", "f", "filter output: dangling=true, reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE")
	return cmd
}

// imageRow is what an `images --format` template sees, with Docker's field
// names; `json` prints these keys.
type imageRow struct {
	Containers   string
	CreatedAt    string
	CreatedSince string
	Digest       string
	ID           string
	Repository   string
	SharedSize   string
	Size         string
	Tag          string
	UniqueSize   string
	VirtualSize  string
}

var imageHeaders = map[string]string{
	"Containers": "CONTAINERS", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED", "Digest": "DIGEST",
	"ID": "IMAGE ID", "Repository": "REPOSITORY", "SharedSize": "SHARED SIZE", "Size": "SIZE",
	"Tag": "TAG", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE",
}

func runImages(ctx context.Context, g *globalOptions, opts *imagesOptions) error {
	defer lowerGCPercent(listingGCPercent)()
	b, done, err := g.openBackend("")
	if err != nil {
		return err
	}
	defer done()
	list, err := b.Images(ctx, engine.ListImagesOptions{All: opts.all, Reference: opts.reference, Filters: opts.filters})
	if err != nil {
		return err
	}
	lf, err := imagesListFormat(opts)
	if err != nil {
		return err
	}
	lines, err := lf.start()
	if err != nil {
		return err
	}
	// Each listing becomes its line and is dropped: the table's column
	// widths need every line, not every row.
	var buf bytes.Buffer
	for i, s := range list {
		list[i] = imageListing{}
		id := s.ID
		if !opts.noTrunc {
			id = shortID(id)
		}
		row := imageRow{
			Containers:   "N/A",
			CreatedAt:    createdAt(s.Created),
			CreatedSince: createdSince(s.Created),
			Digest:       "<none>",
			ID:           id,
			Repository:   s.Repository,
			SharedSize:   "N/A",
			Size:         imageSize(s.Size),
			Tag:          s.Tag,
			UniqueSize:   "N/A",
			VirtualSize:  imageSize(s.Size),
		}
		if s.Digest != "" {
			row.Digest = s.Digest
		}
		line, err := lf.renderRow(&buf, row)
		if err != nil {
			return err
		}
		lines = append(lines, line)
	}
	return lf.writeLines(opts.out, lines)
}

// imagesListFormat is the format `images` prints with: --format, -q, or
// Docker's table (with a DIGEST column for --digests).
func imagesListFormat(opts *imagesOptions) (*listFormat, error) {
	format := opts.format
	switch {
	case opts.quiet && format == "":
		format = "{{.ID}}"
	case opts.digests && (format == "" || format == "table"):
		format = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	}
	return newListFormat(format, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}", imageHeaders)
}
