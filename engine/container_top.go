package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/runtime"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times; 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// TopContainer lists the container's processes as docker top does with ps
// -ef's columns: UID PID PPID C STIME TTY TIME CMD (host PIDs, host user
// names), read from /proc for the PIDs in the container's cgroup.
func (e *Engine) TopContainer(ctx context.Context, id string) (titles []string, procs [][]string, err error) {
	c, err := e.container(id)
	if err != nil {
		return nil, nil, err
	}
	if !c.State.Running() {
		return nil, nil, fmt.Errorf("container %s is not running: %w", c.ID, ErrNotRunning)
	}
	pids, err := runtime.CgroupFor("", c.ID).Pids()
	if err != nil {
		return nil, nil, err
	}
	users := hostUserNames()
	boot := bootTime()
	titles = []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}
	for _, pid := range pids {
		row, err := psRow(pid, users, boot)
		if err != nil {
			continue // exited meanwhile
		}
		procs = append(procs, row)
	}
	return titles, procs, nil
}

func psRow(pid int, users map[string]string, boot time.Time) ([]string, error) {
	base := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(base + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(stat, ')')
	j := bytes.IndexByte(stat, '(')
	if i < 0 || j < 0 {
		return nil, fmt.Errorf("parse %s/stat", base)
	}
	comm := string(stat[j+1 : i])
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return nil, fmt.Errorf("parse %s/stat", base)
	}
	// f[0] is field 3; field n is f[n-3].
	ppid := f[1]
	ttyNr, _ := strconv.Atoi(f[4])
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	startTicks, _ := strconv.ParseUint(f[19], 10, 64)

	uid := "?"
	if status, err := os.ReadFile(base + "/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
				if fs := strings.Fields(rest); len(fs) > 0 {
					uid = fs[0]
				}
			}
		}
	}
	user := uid
	if name, ok := users[uid]; ok {
		user = name
	}
	started := boot.Add(time.Duration(startTicks) * time.Second / clockTicks)
	cpu := time.Duration(utime+stime) * time.Second / clockTicks
	c := 0
	if elapsed := time.Since(started); elapsed > 0 {
		c = int(100 * cpu / elapsed)
	}
	stimeCol := started.Format("15:04")
	if time.Since(started) > 24*time.Hour {
		stimeCol = started.Format("Jan02")
	}
	cmd := "[" + comm + "]"
	if raw, err := os.ReadFile(base + "/cmdline"); err == nil && len(raw) > 0 {
		cmd = strings.TrimSpace(strings.ReplaceAll(string(bytes.TrimRight(raw, "\x00")), "\x00", " "))
	}
	return []string{user, strconv.Itoa(pid), ppid, strconv.Itoa(c), stimeCol, ttyName(ttyNr), cpuTime(cpu), cmd}, nil
}

func ttyName(nr int) string {
	if nr == 0 {
		return "?"
	}
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case major >= 136 && major <= 143:
		return "pts/" + strconv.Itoa((major-136)*256+minor)
	case major == 4 && minor < 64:
		return "tty" + strconv.Itoa(minor)
	}
	return "?"
}

func cpuTime(d time.Duration) string {
	s := int(d.Seconds())
	days, h, m, sec := s/86400, (s/3600)%24, (s/60)%60, s%60
	if days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, sec)
}

// hostUserNames maps the host's UIDs to names, as ps on the host shows them.
func hostUserNames() map[string]string {
	names := map[string]string{}
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return names
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ":")
		if len(fs) > 2 {
			if _, ok := names[fs[2]]; !ok {
				names[fs[2]] = fs[0]
			}
		}
	}
	return names
}

func bootTime() time.Time {
	data, err := os.ReadFile("/proc/stat")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "btime "); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64); err == nil {
					return time.Unix(n, 0)
				}
			}
		}
	}
	return time.Now()
}
