// Package testscripts holds berth's end-to-end scenarios: *.txtar scripts run
// by script_test.go with the real berth command line (cli.Main).
package testscripts
