package cli

import (
	"reflect"
	"testing"

	"github.com/spf13/pflag"
)

// TestStringArrayMatchesPflag: the cheap string array parses and shows in
// help exactly as pflag's own does.
func TestStringArrayMatchesPflag(t *testing.T) {
	ours, theirs := pflag.NewFlagSet("ours", pflag.ContinueOnError), pflag.NewFlagSet("theirs", pflag.ContinueOnError)
	var a, b []string
	stringArrayVarP(ours, &a, "env", "e", "set environment variables")
	theirs.StringArrayVarP(&b, "env", "e", nil, "set environment variables")
	if got, want := ours.FlagUsages(), theirs.FlagUsages(); got != want {
		t.Errorf("help:\n%s\nwant (pflag's):\n%s", got, want)
	}
	args := []string{"-e", "A=1,2", "--env", `B="x"`, "-e", ""}
	if err := ours.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := theirs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1,2", `B="x"`, ""}; !reflect.DeepEqual(a, want) || !reflect.DeepEqual(b, want) {
		t.Errorf("parsed %q (pflag %q), want %q", a, b, want)
	}
	if got, want := ours.Lookup("env").Value.String(), theirs.Lookup("env").Value.String(); got != want {
		t.Errorf("String() = %s, pflag's %s", got, want)
	}
	if !ours.Changed("env") {
		t.Error("env not marked changed")
	}
}

// TestStringArraySharedTarget: several refused flags share one slice; a
// flag not given leaves it empty, each given one replaces then appends.
func TestStringArraySharedTarget(t *testing.T) {
	f := pflag.NewFlagSet("run", pflag.ContinueOnError)
	var refused []string
	for _, name := range []string{"ulimit", "device"} {
		stringArrayVarP(f, &refused, name, "", "not supported by berth")
	}
	if refused != nil {
		t.Fatalf("before parsing: %q", refused)
	}
	if err := f.Parse([]string{"--device", "/dev/a", "--device", "/dev/b"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/dev/a", "/dev/b"}; !reflect.DeepEqual(refused, want) || f.Changed("ulimit") {
		t.Errorf("refused = %q (ulimit changed %v), want %q", refused, f.Changed("ulimit"), want)
	}
}
