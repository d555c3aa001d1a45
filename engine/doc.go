// Package engine is Berth's facade: Open a root and get an *Engine whose
// methods build, run, commit, tag and list images and containers. The CLI
// and the daemon both drive the engine through this package, so the logic
// exists once.
//
// Every operation reports what it does as trace events (package trace) to
// the recorders attached with AddRecorder.
package engine
