package userns

import "testing"

func TestIsIdentityMap(t *testing.T) {
	for m, want := range map[string]bool{
		"         0          0 4294967295\n": true,
		"0 1000 1\n":                         false,
		"0 1000 1\n1 100000 65536\n":         false,
		"":                                   false,
	} {
		if got := isIdentityMap(m); got != want {
			t.Errorf("isIdentityMap(%q) = %v, want %v", m, got, want)
		}
	}
}
