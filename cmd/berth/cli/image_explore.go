package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type exploreOptions struct {
	image string
	plain bool
	in    io.Reader
	out   io.Writer
}

func newImageExploreCmd(g *globalOptions) *cobra.Command {
	opts := &exploreOptions{}
	cmd := &cobra.Command{
		Use:   "explore [OPTIONS] IMAGE",
		Short: "Look inside an image, layer by layer",
		Long: `Show an image's layers with the instruction that made each, the files of the
selected layer marked A (added), C (changed: the path existed below) and D
(deleted by a whiteout), and the space each layer wastes: files that a later
layer overwrites or removes, which the image carries but nobody sees.

On a terminal it is interactive: ↑/↓ (k/j) pick a layer, Tab switches to its
file tree (↑/↓, PgUp/PgDn scroll), w shows only wasted files, q quits.
With --plain, or when the output is not a terminal, it prints every layer as
text, for scripts.`,
		Example: `  berth image explore app
  berth image explore --plain busybox | grep '^Layer'`,
		Args: requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image, opts.in, opts.out = args[0], cmd.InOrStdin(), cmd.OutOrStdout()
			return runImageExplore(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.plain, "plain", false, "print every layer as text instead of the interactive view")
	return cmd
}

func runImageExplore(ctx context.Context, g *globalOptions, opts *exploreOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	x, err := eng.ExploreImage(ctx, opts.image)
	if err != nil {
		return err
	}
	if !opts.plain && isTerminal(opts.in) && writerIsTerminal(opts.out) {
		return exploreInteractive(ctx, x, opts)
	}
	renderExplorePlain(opts.out, x, opts.image)
	return nil
}

func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// exploreTitle is the image line: its name, short ID, layers, size, waste.
func exploreTitle(x *engine.ExploredImage, name string) string {
	if len(x.Image.Refs) > 0 {
		name = store.Familiar(x.Image.Refs[0])
	}
	return fmt.Sprintf("Image %s (%s): %s, %s, %s wasted", name, x.Image.ShortID(),
		pluralWord(len(x.Layers), "layer"), humanSize(x.Size), humanSize(x.Wasted))
}

// exploreLayerLine heads a layer: its number, diff ID, size and waste.
func exploreLayerLine(x *engine.ExploredImage, l engine.ExploredLayer) string {
	id := strings.TrimPrefix(l.DiffID.String(), "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return fmt.Sprintf("Layer %d/%d %s  %s  %s wasted", l.Index+1, len(x.Layers), id, humanSize(l.Size), humanSize(l.Wasted))
}

// exploreFileLine is one file: mark, size, path ("/" after a directory),
// and why it is wasted.
func exploreFileLine(f engine.ExploredFile) string {
	p := f.Path
	if f.Dir {
		p += "/"
	}
	p += linkNote(f)
	line := fmt.Sprintf("%s %8s  %s", f.Kind, fileSize(f), p)
	if f.Hidden {
		line += "  (wasted: a later layer overwrites or removes it)"
	}
	return line
}

// renderExplorePlain prints the whole image, layer by layer.
func renderExplorePlain(w io.Writer, x *engine.ExploredImage, name string) {
	fmt.Fprintln(w, exploreTitle(x, name))
	for _, l := range x.Layers {
		fmt.Fprintln(w)
		fmt.Fprintln(w, exploreLayerLine(x, l))
		fmt.Fprintf(w, "  created by: %s\n", orDash(l.CreatedBy))
		for _, f := range l.Files {
			fmt.Fprintln(w, "  "+exploreFileLine(f))
		}
	}
	n := 0
	for _, l := range x.Layers {
		for _, f := range l.Files {
			if f.Hidden && !f.Dir {
				n++
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Wasted space: %s in %s that a later layer overwrites or removes\n", humanSize(x.Wasted), pluralWord(n, "file"))
}

// fileSize is a regular file's size; blank for directories, links and
// deletions, which carry no content.
func fileSize(f engine.ExploredFile) string {
	if f.Dir || f.Link != "" || f.Kind == layer.ChangeDelete {
		return ""
	}
	return humanSize(f.Size)
}

// linkNote says where a link points: "-> target" for a symlink, "link to
// /path" for a hard link (same content, no space of its own).
func linkNote(f engine.ExploredFile) string {
	switch {
	case f.Link == "":
		return ""
	case f.HardLink:
		return " link to " + f.Link
	}
	return " -> " + f.Link
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pluralWord(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// treeLabel draws a path as a line of a tree: indented by depth, its name.
func treeLabel(f engine.ExploredFile) string {
	depth := strings.Count(strings.TrimPrefix(f.Path, "/"), "/")
	name := path.Base(f.Path)
	if f.Dir {
		name += "/"
	}
	name += linkNote(f)
	return strings.Repeat("  ", depth) + name
}
