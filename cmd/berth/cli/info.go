package cli

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/spf13/cobra"
)

func newInfoCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:                   "info",
		Short:                 "Show how berth runs here: mode (root, rootless, replay) and why, store, networking, cgroups",
		Args:                  cobra.NoArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			printInfo(cmd, g)
			return nil
		},
	}
}

func printInfo(cmd *cobra.Command, g *globalOptions) {
	out := cmd.OutOrStdout()
	mode, why := engine.Mode()
	fmt.Fprintf(out, "Mode: %s\n Why: %s\n", mode, why)
	fmt.Fprintf(out, "Root Dir: %s\n", g.root)
	fmt.Fprintf(out, "Version: %s\n", engine.Version)
	if mode != engine.ModeRootless {
		return
	}
	uids, gids := runtime.IDMaps()
	fmt.Fprintf(out, "UID Map: %s\nGID Map: %s\n", uids, gids)
	if p, err := exec.LookPath("pasta"); err == nil {
		fmt.Fprintf(out, "Network: pasta (%s) for the default network; host and none\n", p)
	} else {
		fmt.Fprintln(out, "Network: host and none only (install passt for the default network)")
	}
	if d := runtime.CgroupDelegation(); d.Dir != "" {
		fmt.Fprintf(out, "Cgroups: delegated %s (controllers: %s)\n", d.Dir, strings.Join(d.Controllers, " "))
	} else {
		fmt.Fprintf(out, "Cgroups: none delegated, so --memory, --pids-limit and --cpus are refused: %s\n", d.Why)
	}
}
