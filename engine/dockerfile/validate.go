package dockerfile

import (
	"strconv"
	"strings"
)

// signalNames are the Linux signals Docker's STOPSIGNAL accepts by name
// (moby/sys/signal's SignalMap), without the SIG prefix.
var signalNames = map[string]bool{
	"ABRT": true, "ALRM": true, "BUS": true, "CHLD": true, "CLD": true, "CONT": true, "FPE": true,
	"HUP": true, "ILL": true, "INT": true, "IO": true, "IOT": true, "KILL": true, "PIPE": true,
	"POLL": true, "PROF": true, "PWR": true, "QUIT": true, "SEGV": true, "STKFLT": true,
	"STOP": true, "SYS": true, "TERM": true, "TRAP": true, "TSTP": true, "TTIN": true,
	"TTOU": true, "URG": true, "USR1": true, "USR2": true, "VTALRM": true, "WINCH": true,
	"XCPU": true, "XFSZ": true, "RTMIN": true, "RTMAX": true,
}

// ValidateSignal checks a STOPSIGNAL (or --stop-signal) value as Docker
// does: a signal number, or a name with or without SIG ("SIGTERM",
// "term", "RTMIN+3").
func ValidateSignal(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return errf("Invalid signal: %s", s)
		}
		return nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if signalNames[name] {
		return nil
	}
	for _, rt := range []struct{ prefix, sep string }{{"RTMIN", "+"}, {"RTMAX", "-"}} {
		if n, ok := strings.CutPrefix(name, rt.prefix+rt.sep); ok {
			if v, err := strconv.Atoi(n); err == nil && v >= 1 && v <= 15 {
				return nil
			}
		}
	}
	return errf("Invalid signal: %s", s)
}

// ExposedPorts parses one EXPOSE word ("80", "53/udp", "8000-8002/tcp")
// into the ports it exposes ("80/tcp", ...), as Docker's nat package does:
// a range gives every port in it, the protocol is lower-cased. A bad
// protocol or port is an error in Docker's words.
func ExposedPorts(word string) ([]string, error) {
	parts := strings.Split(word, ":")
	port, proto, _ := strings.Cut(parts[len(parts)-1], "/")
	switch strings.ToLower(proto) {
	case "":
		proto = "tcp"
	case "tcp", "udp", "sctp":
		proto = strings.ToLower(proto)
	default:
		return nil, errf("invalid proto: %s", proto)
	}
	start, end, err := portRange(port)
	if err != nil {
		return nil, errf("invalid containerPort: %s", port)
	}
	out := make([]string, 0, end-start+1)
	for p := start; p <= end; p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

func portRange(s string) (start, end int, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if start, err = portNumber(lo); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return start, start, nil
	}
	if end, err = portNumber(hi); err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, errf("invalid port range: %s", s)
	}
	return start, end, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, errf("invalid port %q", s)
	}
	return n, nil
}
