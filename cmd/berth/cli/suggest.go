package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Docker's habits for mistakes on the command line, with suggestions: an
// unknown verb is docker/cli's "berth: unknown command: berth buidl" (exit
// 1), an unknown flag its "unknown flag: --tagg" with the usage line (exit
// 125, as every docker command's flag errors), each followed by cobra's
// "Did you mean this?" list of the nearest names.

// dockerHabits installs them on root and every command under it.
func dockerHabits(root *cobra.Command) {
	root.SetFlagErrorFunc(flagError)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && c.Run == nil {
			// Arguments the command takes itself (berth lesson NAME) still
			// go to it; others are a mistyped subcommand.
			own, ownArgs := c.RunE, c.Args
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if own != nil && (len(args) == 0 || ownArgs == nil || ownArgs(cmd, args) == nil) {
					return own(cmd, args)
				}
				return unknownCommand(cmd, args)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownCommand runs for a command that only groups others (berth, berth
// image): help without arguments, Docker's error with suggestions otherwise.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("berth: unknown command: %s %s%s", cmd.CommandPath(), args[0], didYouMean(suggestCommands(cmd, args[0])))
	if cmd.HasParent() {
		msg += "\n\nUsage:  " + useLine(cmd)
	}
	msg += fmt.Sprintf("\n\nRun '%s --help' for more information", cmd.CommandPath())
	fmt.Fprintln(cmd.ErrOrStderr(), msg)
	return &ExitError{Code: 1, Silent: true}
}

// suggestCommands is cobra's SuggestionsFor, aliases (image ls) included.
func suggestCommands(cmd *cobra.Command, typed string) []string {
	typed = strings.ToLower(typed)
	most := 2
	if len(typed) <= 3 {
		most = 1
	}
	var out []string
	for _, sub := range cmd.Commands() {
		if !sub.IsAvailableCommand() {
			continue
		}
		for _, name := range append([]string{sub.Name()}, sub.Aliases...) {
			if levenshtein(typed, name) <= most || (len(typed) >= 2 && strings.HasPrefix(name, typed)) {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// flagError is docker/cli's FlagErrorFunc, with the nearest flags suggested.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error() + didYouMean(suggestFlags(cmd, err.Error()))
	msg += fmt.Sprintf("\n\nUsage:  %s\n\nRun '%s --help' for more information", useLine(cmd), cmd.CommandPath())
	fmt.Fprintln(cmd.ErrOrStderr(), msg)
	return &ExitError{Code: 125, Silent: true}
}

// useLine is the command's usage line without cobra's " [flags]", as
// docker/cli's commands show it.
func useLine(cmd *cobra.Command) string {
	return strings.TrimSuffix(cmd.UseLine(), " [flags]")
}

func didYouMean(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return "\n\nDid you mean this?\n\t" + strings.Join(names, "\n\t")
}

// suggestFlags returns the flags of cmd whose names are near the unknown
// one that pflag's error names ("unknown flag: --tagg"), nearest first.
func suggestFlags(cmd *cobra.Command, msg string) []string {
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return nil
	}
	name, _, _ = strings.Cut(name, "=")
	type cand struct {
		name string
		dist int
	}
	var cands []cand
	seen := map[string]bool{}
	visit := func(f *pflag.Flag) {
		if f.Hidden || seen[f.Name] {
			return
		}
		seen[f.Name] = true
		// One typo in a short name, two in a longer one, or a prefix.
		d, most := levenshtein(name, f.Name), 1
		if len(name) > 4 {
			most = 2
		}
		if d <= most || (len(name) >= 3 && strings.HasPrefix(f.Name, name)) {
			cands = append(cands, cand{"--" + f.Name, d})
		}
	}
	cmd.LocalFlags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].dist < cands[j].dist })
	var out []string
	for _, c := range cands {
		out = append(out, c.name)
	}
	return out
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
