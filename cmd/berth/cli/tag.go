package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// tagOptions are `berth tag`'s arguments.
type tagOptions struct {
	source, target string
}

func newTagCmd(g *globalOptions) *cobra.Command {
	return newImageTagCmd(g, "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")
}

func newImageTagCmd(g *globalOptions, use string) *cobra.Command {
	opts := &tagOptions{}
	return &cobra.Command{
		Use:                   use,
		DisableFlagsInUseLine: true,
		Short:                 "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Long: `Give an image another name. A name already used by another image moves to
this one; the other image keeps its other names, or shows as <none>.`,
		Example: `  berth tag busybox rommelrico/busybox:1.0
  berth tag 3f57d9401f8d localhost:5000/busybox`,
		Args: requireArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.source, opts.target = args[0], args[1]
			return runTag(cmd.Context(), g, opts)
		},
	}
}

func runTag(ctx context.Context, g *globalOptions, opts *tagOptions) error {
	b, done, err := g.openBackend("")
	if err != nil {
		return err
	}
	defer done()
	return b.Tag(ctx, opts.source, opts.target)
}
