package lazyre

import (
	"sync"
	"testing"
)

func TestRegexpCompilesOnceOnFirstUse(t *testing.T) {
	re := New(`^([a-z]+)-([0-9]+)$`)
	if re.String() != `^([a-z]+)-([0-9]+)$` {
		t.Errorf("String() = %q", re.String())
	}
	first := re.Compiled()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := re.Compiled(); got != first {
				t.Errorf("a later use compiled again: %p, want %p", got, first)
			}
		}()
	}
	wg.Wait()
}

func TestRegexpMethodsMatchTheCompiledOnes(t *testing.T) {
	re := New(`^([a-z]+)-([0-9]+)$`)
	if !re.MatchString("abc-12") || re.MatchString("abc-x") {
		t.Error("MatchString disagrees with the pattern")
	}
	if m := re.FindStringSubmatch("abc-12"); len(m) != 3 || m[1] != "abc" || m[2] != "12" {
		t.Errorf("FindStringSubmatch = %q", m)
	}
	if m := re.FindStringSubmatch("nope"); m != nil {
		t.Errorf("FindStringSubmatch of a non-match = %q, want nil", m)
	}
	if got := New(`(?i)^\s*onbuild\s*`).ReplaceAllString("  ONBUILD RUN x", ""); got != "RUN x" {
		t.Errorf("ReplaceAllString = %q", got)
	}
}

func TestNewDefersABadPatternToFirstUse(t *testing.T) {
	re := New(`(`) // creating it must not panic: nothing compiles yet
	defer func() {
		if recover() == nil {
			t.Fatal("a bad pattern compiled without a panic")
		}
	}()
	re.MatchString("x")
}
