package cli

import (
	"testing"
)

// TestRootVerbsNamed: each entry of rootVerbs builds the command it is
// named for, and the full tree holds exactly those.
func TestRootVerbsNamed(t *testing.T) {
	g := &globalOptions{}
	seen := map[string]bool{}
	for _, v := range rootVerbs {
		if c := v.new(g); c.Name() != v.name || len(c.Aliases) != 0 {
			t.Errorf("rootVerbs entry %q builds %q (aliases %q)", v.name, c.Name(), c.Aliases)
		}
		seen[v.name] = true
	}
	for _, c := range newRootCmd(g).Commands() {
		if !seen[c.Name()] {
			t.Errorf("command %q is not in rootVerbs", c.Name())
		}
	}
	if cmds := newRootCmdFor(g, "run").Commands(); len(cmds) != 1 || cmds[0].Name() != "run" || cmds[0].GroupID != "containers" {
		t.Errorf("tree for run holds %v", cmds)
	}
}

func TestRequestedVerb(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "busybox", "true"}, "run"},
		{[]string{"--root", "/x", "-D", "container", "ls"}, "container"},
		{[]string{"--root=/x", "--host=unix:///s", "--debug", "ps", "-a"}, "ps"},
		{[]string{"--host", "tcp://127.0.0.1:2375", "version"}, "version"},
		{[]string{"images", "--help"}, "images"},
		// The whole tree: help, completion, mistakes and other flags first.
		{nil, ""},
		{[]string{"help", "run"}, ""},
		{[]string{"--help"}, ""},
		{[]string{"--version"}, ""},
		{[]string{"__complete", "ru"}, ""},
		{[]string{"completion", "bash"}, ""},
		{[]string{"runn", "busybox"}, ""},
		{[]string{"-x", "run"}, ""},
		{[]string{"--root"}, ""},
		{[]string{"--", "run"}, ""},
	} {
		if got := requestedVerb(tc.args); got != tc.want {
			t.Errorf("requestedVerb(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
