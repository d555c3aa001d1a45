package runtime

import "testing"

// TestStartErrorMessage: the one wording of a failed start, shared by
// berth run, start and the daemon: Docker's prefix only where dockerd puts
// it (a command not found or not runnable), the reason alone otherwise.
func TestStartErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		code int
		want string
	}{
		{CodeNotFound, "failed to create task for container: unable to start container process: exec: \"x\": executable file not found in $PATH"},
		{CodeCannotRun, "failed to create task for container: unable to start container process: exec: \"x\": executable file not found in $PATH"},
		{CodeEngine, "exec: \"x\": executable file not found in $PATH"},
	} {
		se := &StartError{Code: tc.code, Msg: "exec: \"x\": executable file not found in $PATH"}
		if got := se.Message(); got != tc.want {
			t.Errorf("code %d: Message() = %q, want %q", tc.code, got, tc.want)
		}
		if se.Error() != se.Msg {
			t.Errorf("code %d: Error() = %q, want the bare reason", tc.code, se.Error())
		}
	}
}
