package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// newContainerCmd is docker's "container" management command: the
// container verbs again under one name, and prune.
func newContainerCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	ls := newPsCmd(g)
	ls.Use, ls.Aliases = "ls [OPTIONS]", []string{"list", "ps"}
	rm := newRmCmd(g)
	rm.Aliases = []string{"remove"}
	cmd.AddCommand(
		newRunCmd(g), newCreateCmd(g), newStartCmd(g), ls, newStopCmd(g), newKillCmd(g), rm,
		newExecCmd(g), newLogsCmd(g), newPauseCmd(g), newUnpauseCmd(g), newWaitCmd(g),
		newDiffCmd(g), newTopCmd(g), newContainerPruneCmd(g), newCommitCmd(g), newContainerInspectCmd(g), newPortCmd(g),
	)
	return cmd
}

type containerPruneOptions struct {
	force bool
	stdin io.Reader
	out   io.Writer
}

func newContainerPruneCmd(g *globalOptions) *cobra.Command {
	opts := &containerPruneOptions{}
	cmd := &cobra.Command{
		Use:     "prune [OPTIONS]",
		Short:   "Remove all stopped containers",
		Example: "  berth container prune -f",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdin, opts.out = cmd.InOrStdin(), cmd.OutOrStdout()
			return runContainerPrune(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

func runContainerPrune(ctx context.Context, g *globalOptions, opts *containerPruneOptions) error {
	if !opts.force {
		fmt.Fprint(opts.out, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
		answer, _ := bufio.NewReader(opts.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return nil
		}
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	removed, reclaimed, err := eng.PruneContainers(ctx)
	if len(removed) > 0 {
		fmt.Fprintln(opts.out, "Deleted Containers:")
		for _, id := range removed {
			fmt.Fprintln(opts.out, id)
		}
		fmt.Fprintln(opts.out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.out, "Total reclaimed space:", humanSize(reclaimed))
	return nil
}
