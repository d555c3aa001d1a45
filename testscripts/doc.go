// Package testscripts holds berth's end-to-end scenarios: *.txtar scripts run
// by script_test.go with the real berth command line (cli.Main), and the
// tour (tour_test.go), which runs every command block of README.md and
// docs/lessons.md as typed on a fresh store; a block that cannot run there
// (internet, a TTY, a server) says why in a `<!-- tour: skip, REASON -->`
// line before it.
package testscripts
