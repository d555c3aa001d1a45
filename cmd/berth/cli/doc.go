// Package cli is berth's command line: one file per verb, each with an
// options struct, a cobra command whose RunE fills the options, and a runX
// function that calls the engine and renders its results. Output goes only
// through the command's writers, so tests and the daemon can capture it.
package cli
