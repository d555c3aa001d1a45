package cli

import "github.com/spf13/cobra"

// stub: owned by daemon
func newDaemonCmd(g *globalOptions) *cobra.Command { return stubCmd("daemon", "daemon") }
