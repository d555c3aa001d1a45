package cli

import (
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// linuxVerbs run or change containers, build (only --explain runs
// nothing), or unpack layers: off Linux the in-process engine cannot do
// them, though a daemon on Linux can (--host). Every `container` subcommand
// is one of them too. The rest (lesson, trace, build --explain, images,
// inspect, history, tag, rmi, pull, push, save, load, registry, system,
// version) work on macOS and Windows.
var linuxVerbs = map[string]bool{
	"run": true, "create": true, "start": true, "exec": true, "stop": true, "kill": true,
	"rm": true, "pause": true, "unpause": true, "wait": true, "top": true, "diff": true,
	"logs": true, "ps": true, "commit": true, "build": true, "bootstrap": true,
	"import": true, "daemon": true,
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
	var refuse bool
	switch words[0] {
	case "container":
		refuse = len(words) > 1
	case "image":
		refuse = len(words) > 1 && words[1] == "import"
	default:
		refuse = linuxVerbs[words[0]]
	}
	if refuse && words[len(words)-1] == "build" {
		if f := cmd.Flags().Lookup("explain"); f != nil && f.Value.String() == "true" {
			refuse = false
		}
	}
	if !refuse {
		return nil
	}
	return &engine.NeedsLinuxError{Verb: strings.Join(words, " ")}
}
