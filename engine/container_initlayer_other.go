//go:build !linux

package engine

// initLayerName is only a name off Linux, where no container is made.
var initLayerName = "init"
