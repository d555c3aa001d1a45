// Package view renders recorded traces for people: the classic console
// (what `berth build` printed), the annotated narration (a plain-words line
// for every event that matters), the tree of images, containers and
// snapshots, the layer stack, every cache decision explained, and the HTML
// pages (the trace page, its projector mode and the comparison of two
// builds). Model puts a trace back together (builds with their steps,
// containers with their lifecycle, commits) from events only, so whatever a
// view shows was recorded.
//
// `berth trace show|explain|html|follow` and the lessons both use it. It
// imports only package trace (no engine, no lesson runner), so an
// instructor's view builds and runs on any laptop, from a trace file alone.
// A lesson adds its annotations and pauses through Narrator.Notes and
// Narrator.Pause.
package view
