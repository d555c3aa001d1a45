package engine

import (
	"errors"
	"fmt"
	"testing"
)

func TestNeedsLinuxError(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &NeedsLinuxError{Verb: "container exec"})
	if !errors.Is(err, ErrNeedsLinux) {
		t.Fatal("errors.Is(err, ErrNeedsLinux) is false")
	}
	want := "wrapped: berth container exec needs Linux (namespaces and overlayfs); on this machine use 'berth lesson <name> --replay'"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if errors.Is(errors.New("needs Linux"), ErrNeedsLinux) {
		t.Error("an unrelated error with the same text matched")
	}
}
