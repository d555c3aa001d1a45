package cli

import "errors"

// exitStatus is the one place a verb's error becomes berth's exit code and
// the message printed after "Error:" (nil: print nothing).
//
// A verb that knows its code says it with *ExitError: 125 for run's and
// create's own failures, 126/127 for a command that could not start, the
// container's or exec's own code, 1 for a check that failed. Every other
// error exits 1 whatever its class (engine/errdefs: not found, conflict,
// invalid parameter...), remote or in-process alike, as every docker
// command exits 1 on an error response from the daemon; were a class ever
// to get its own code, it would be added here.
func exitStatus(err error) (code int, message error) {
	if err == nil {
		return 0, nil
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Silent {
			return exit.Code, nil
		}
		return exit.Code, exit.Err
	}
	return 1, err
}
