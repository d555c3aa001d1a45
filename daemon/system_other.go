//go:build !linux

package daemon

// kernelVersion is empty off Linux: the daemon serves Linux containers only.
func kernelVersion() string { return "" }

// memTotal is unknown (0) off Linux.
func memTotal() int64 { return 0 }
