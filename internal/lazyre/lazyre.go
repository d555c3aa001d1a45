// Package lazyre gives a package a regular expression it compiles on first
// use instead of at start.
//
// A package-level regexp.MustCompile runs in the package's initializer, so
// every berth process pays for it, `berth version` and each container's init
// included, whether or not the process ever matches the pattern (a pattern of
// a few dozen characters costs 10 to 50 µs and a few KB of heap). A lazily
// compiled one costs a closure at start. docs/performance.md, "Process
// start-up (CLI)", has the numbers.
//
// A *Regexp has the methods of *regexp.Regexp that Berth's package-level
// patterns use, so `var nameRE = regexp.MustCompile(...)` becomes
// `var nameRE = lazyre.New(...)` and its uses stay as they are.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled the first time it is used, once,
// safely from any goroutine.
type Regexp struct {
	expr     string
	compiled func() *regexp.Regexp
}

// New returns expr, to be compiled on first use. Like regexp.MustCompile, a
// use panics if expr does not compile: expr is a constant of the program,
// and the package's tests use it.
func New(expr string) *Regexp {
	return &Regexp{expr: expr, compiled: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// Compiled returns the compiled expression, compiling it on the first call.
func (r *Regexp) Compiled() *regexp.Regexp { return r.compiled() }

// MatchString is regexp.Regexp.MatchString.
func (r *Regexp) MatchString(s string) bool { return r.compiled().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.compiled().FindStringSubmatch(s) }

// ReplaceAllString is regexp.Regexp.ReplaceAllString.
func (r *Regexp) ReplaceAllString(src, repl string) string {
	return r.compiled().ReplaceAllString(src, repl)
}

// String returns the source text of the expression, without compiling it.
func (r *Regexp) String() string { return r.expr }
