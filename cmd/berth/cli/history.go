package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// historyOptions are `berth history`'s flags.
type historyOptions struct {
	human   bool
	noTrunc bool
	quiet   bool
	files   bool
	format  string
	image   string
	out     io.Writer
}

func newHistoryCmd(g *globalOptions) *cobra.Command {
	opts := &historyOptions{}
	cmd := &cobra.Command{
		Use:                   "history [OPTIONS] IMAGE",
		DisableFlagsInUseLine: true,
		Short:                 "Show the history of an image",
		Long: `Show the steps that made an image, newest first: each history entry of its
config with the command that created it and the size of the layer it added.
An entry shows the ID of the image that step produced while the store still
has it (images built here), and <missing> otherwise (pulled or loaded ones).

--files lists, under each step that added a layer, what the layer adds (A),
changes (C) and deletes (D), read from the layer itself.`,
		Example: `  berth history busybox
  berth history --no-trunc rommelrico/redis
  berth history --files rommelrico/redis
  berth history --format '{{.ID}} {{.Size}}' busybox`,
		Args: requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image, opts.out = args[0], cmd.OutOrStdout()
			return runHistory(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.human, "human", "H", true, "print sizes and dates in human readable format")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "don't truncate output")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVar(&opts.files, "files", false, "list the files each layer adds, changes and deletes")
	f.StringVar(&opts.format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	return cmd
}

// historyRow is what a `history --format` template sees (Docker's names).
type historyRow struct {
	Comment      string
	CreatedAt    string
	CreatedBy    string
	CreatedSince string
	ID           string
	Size         string
}

var historyHeaders = map[string]string{
	"Comment": "COMMENT", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
	"CreatedSince": "CREATED", "ID": "IMAGE", "Size": "SIZE",
}

func runHistory(ctx context.Context, g *globalOptions, opts *historyOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	items, err := eng.ImageHistory(ctx, opts.image)
	if err != nil {
		return err
	}
	format := opts.format
	if opts.quiet && format == "" {
		format = "{{.ID}}"
	}
	lf, err := newListFormat(format, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", historyHeaders)
	if err != nil {
		return err
	}
	rows := make([]any, len(items))
	for i, it := range items {
		rows[i] = historyRowOf(it, opts)
	}
	if !opts.files {
		return lf.write(opts.out, rows)
	}
	_, layers, err := eng.ImageChanges(ctx, opts.image)
	if err != nil {
		return err
	}
	lines, err := lf.lines(rows)
	if err != nil {
		return err
	}
	if lf.table && len(lines) > 0 {
		fmt.Fprintln(opts.out, lines[0])
		lines = lines[1:]
	}
	for i, line := range lines {
		fmt.Fprintln(opts.out, line)
		if i < len(items) && items[i].Layer >= 0 && items[i].Layer < len(layers) {
			for _, c := range layers[items[i].Layer].Changes {
				fmt.Fprintln(opts.out, "    "+c.String())
			}
		}
	}
	return nil
}

func historyRowOf(it engine.HistoryItem, opts *historyOptions) historyRow {
	row := historyRow{Comment: it.Comment, ID: it.ID}
	if row.ID != "<missing>" && !opts.noTrunc {
		row.ID = shortID(row.ID)
	}
	createdBy := strings.ReplaceAll(it.CreatedBy, "\t", " ")
	if !opts.noTrunc {
		// A heredoc RUN's command spans lines; one table row shows it on one.
		createdBy = ellipsis(strings.ReplaceAll(createdBy, "\n", " "), 45)
	}
	row.CreatedBy = createdBy
	if !it.Created.IsZero() {
		row.CreatedAt = it.Created.Format(time.RFC3339)
	}
	if opts.human {
		row.CreatedSince = createdSince(it.Created)
		row.Size = imageSize(it.Size)
	} else {
		row.CreatedSince = row.CreatedAt
		row.Size = fmt.Sprint(it.Size)
	}
	return row
}

// imageDiffOptions are `berth image diff`'s flags.
type imageDiffOptions struct {
	image  string
	format string
	out    io.Writer
}

func newImageDiffCmd(g *globalOptions) *cobra.Command {
	opts := &imageDiffOptions{}
	cmd := &cobra.Command{
		Use:                   "diff [OPTIONS] IMAGE",
		DisableFlagsInUseLine: true,
		Short:                 "Show what each layer of an image adds, changes and deletes",
		Long: `List an image's layers, base first, and under each the paths it adds (A),
changes (C: the path existed in a lower layer) and deletes (D: whiteouts),
like berth diff does for a container. --format json prints one JSON object
per layer.`,
		Example: `  berth image diff busybox
  berth image diff --format json rommelrico/redis`,
		Args: requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image, opts.out = args[0], cmd.OutOrStdout()
			return runImageDiff(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "", "'json' for one JSON object per layer")
	return cmd
}

// layerDiffJSON is one layer in `image diff --format json`.
type layerDiffJSON struct {
	Layer     int      `json:"Layer"`
	DiffID    string   `json:"DiffID"`
	Digest    string   `json:"Digest"`
	Size      int64    `json:"Size"`
	CreatedBy string   `json:"CreatedBy"`
	Changes   []string `json:"Changes"`
}

func runImageDiff(ctx context.Context, g *globalOptions, opts *imageDiffOptions) error {
	switch opts.format {
	case "", "json":
	default:
		return fmt.Errorf("--format %q: only json is supported", opts.format)
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	_, layers, err := eng.ImageChanges(ctx, opts.image)
	if err != nil {
		return err
	}
	for i, l := range layers {
		if opts.format == "json" {
			j := layerDiffJSON{Layer: i + 1, DiffID: l.DiffID.String(), Digest: l.Digest.String(), Size: l.Size, CreatedBy: l.CreatedBy, Changes: []string{}}
			for _, c := range l.Changes {
				j.Changes = append(j.Changes, c.String())
			}
			data, err := json.Marshal(j)
			if err != nil {
				return err
			}
			fmt.Fprintln(opts.out, string(data))
			continue
		}
		if i > 0 {
			fmt.Fprintln(opts.out)
		}
		fmt.Fprintf(opts.out, "Layer %d/%d %s %s\n", i+1, len(layers), shortID(l.DiffID.String()), imageSize(l.Size))
		if l.CreatedBy != "" {
			fmt.Fprintf(opts.out, "Created by: %s\n", l.CreatedBy)
		}
		for _, c := range l.Changes {
			fmt.Fprintln(opts.out, c.String())
		}
	}
	return nil
}
