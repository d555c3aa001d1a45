package cli

import (
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// portableVerbs work on macOS and Windows: they replay, render, plan or
// move images and never run a container or unpack a layer. Every other verb
// (run, create, exec, ps, commit, build without --explain, bootstrap,
// import, daemon, every `container` subcommand, and any verb added later
// until it is listed here) needs the Linux engine; with --host a daemon on
// Linux runs it instead.
var portableVerbs = map[string]bool{
	"lesson": true, "trace": true, "images": true, "image": true, "inspect": true,
	"history": true, "tag": true, "rmi": true, "pull": true, "push": true, "save": true,
	"load": true, "login": true, "logout": true, "registry": true, "system": true,
	"version": true, "help": true, "completion": true,
	cobra.ShellCompRequestCmd: true, cobra.ShellCompNoDescRequestCmd: true,
}

// needsLinux returns a NeedsLinuxError when cmd cannot run on goos with the
// in-process engine, nil otherwise. goos is a parameter so that the refusal
// is tested on Linux too.
func needsLinux(cmd *cobra.Command, goos, host string) error {
	if goos == "linux" || host != "" {
		return nil
	}
	words := strings.Fields(cmd.CommandPath())[1:] // "berth container run" → container run
	if len(words) == 0 {
		return nil
	}
	refuse := !portableVerbs[words[0]]
	switch {
	case words[0] == "container":
		refuse = len(words) > 1 // bare `container` prints its help
	case words[0] == "image" && len(words) > 1 && words[1] == "import":
		refuse = true
	case words[len(words)-1] == "build":
		if f := cmd.Flags().Lookup("explain"); f != nil && f.Value.String() == "true" {
			refuse = false
		}
	}
	if !refuse {
		return nil
	}
	return &engine.NeedsLinuxError{Verb: strings.Join(words, " ")}
}
