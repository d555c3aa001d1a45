// Package cache is the classic builder's cache, as the notes tell it: a
// step's key is its parent image and its instruction's marker (key.go),
// and one pure function, Decide, says whether the step hits and why
// (decide.go).
//
// The builder calls Decide with what the store holds (engine/build), and
// the lessons' what-if with what a recorded trace shows (lessons/whatif.go),
// so `build --explain`, the trace's cache.probe events and the what-if give
// the same reasons in the same words. Nothing here reads the store: the
// caller looks the candidates up and passes them in.
package cache
