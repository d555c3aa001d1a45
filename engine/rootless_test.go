package engine

import "testing"

// Rootless is the cheap form of Mode() == ModeRootless that every start
// asks (to pick the default store): the two must agree, with and without
// the rootless variable set (outside a user namespace it does not make a
// process rootless).
func TestRootlessAgreesWithMode(t *testing.T) {
	for _, env := range []string{"", "subid"} {
		t.Setenv("BERTH_ROOTLESS", env)
		mode, _ := Mode()
		if got, want := Rootless(), mode == ModeRootless; got != want {
			t.Errorf("BERTH_ROOTLESS=%q: Rootless() = %v, Mode() = %s", env, got, mode)
		}
	}
}
