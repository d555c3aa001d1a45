//go:build linux

package testscripts

import "syscall"

type syscallStat struct{ uid int }

func statOwner(path string, st *syscallStat) error {
	var s syscall.Stat_t
	if err := syscall.Stat(path, &s); err != nil {
		return err
	}
	st.uid = int(s.Uid)
	return nil
}
