// Package stackstart gives the main goroutine, at once, the stack that the
// package initializers after it grow it to step by step.
//
// Every berth process initializes the packages it links on the main
// goroutine, whose stack starts at 2 KB. distribution/reference and
// go-digest compile their regular expressions there, and the compiler
// recurses deep enough into their nested patterns to need about 130 KB:
// the runtime doubled the stack seven times on the way (4 KB ... 256 KB),
// each time allocating a new stack, copying the old one and walking every
// frame to adjust its pointers. That was about 0.6 M of `berth version`'s
// 7.2 M instructions and some 30 page faults, in every process.
//
// Importing this package for its side effect (cmd/berth does) grows the
// stack to 256 KB in one step while it is still shallow: one function with a
// frame just under 128 KB asks for it, the runtime sizes the new stack to
// fit and copies the few hundred bytes in use, and the frame itself is never
// written, so no page of it is touched until the regexp compiler uses it.
// Go initializes the first package in import-path order whose imports are
// done; this one imports nothing, so it runs before `regexp` and everything
// that compiles with it (TestStackStartsBeforeTheRegexps in cmd/berth). The
// stack is the size it would have reached anyway, and the first garbage
// collection shrinks it as it shrinks any other.
package stackstart

// frameSize is the frame that makes the runtime double the stack up to
// 256 KB at once: the largest variable Go keeps on the stack is 128 KB,
// and a few hundred bytes are in use already.
const frameSize = 128 << 10

func init() { grow(false) }

// grow's frame holds a frameSize array; its prologue makes room for it,
// whether or not the array is ever used (it is not: write is false).
//
//go:noinline
func grow(write bool) byte {
	if write {
		var frame [frameSize]byte
		return last(&frame)
	}
	return 0
}

//go:noinline
func last(p *[frameSize]byte) byte { return p[len(p)-1] }
