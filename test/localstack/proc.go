package localstack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one server the stack started, as recorded in the state file.
type Process struct {
	Name   string   `json:"name"`
	PID    int      `json:"pid"`
	Binary string   `json:"binary"`
	Args   []string `json:"args"`
	Log    string   `json:"log"`
	// StartTicks is the process's start time (field 22 of /proc/PID/stat):
	// with the PID it identifies the process even after the PID is reused.
	StartTicks uint64 `json:"startTicks"`
}

// startProcess starts binary detached from the caller (own process group, no
// stdin, output to logDir/<name>.log) so that it outlives `localstack up`.
// The returned Process identifies it for stopProcess.
func startProcess(logDir, name, binary string, args []string, env []string, wrap ...string) (Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Process{}, fmt.Errorf("open log for %s: %w", name, err)
	}
	defer f.Close()
	argv := append(append([]string{}, wrap...), binary)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return Process{}, fmt.Errorf("start %s: %w", name, err)
	}
	p := Process{Name: name, PID: cmd.Process.Pid, Binary: binary, Args: args, Log: logPath}
	p.StartTicks, _, _ = procStat(p.PID)
	// Reap it in the background if it dies while we are still running, so a
	// crash shows up as "not alive" rather than as a zombie that looks alive.
	go func() { _ = cmd.Wait() }()
	return p, nil
}

// alive reports whether p is still the process we started: the PID exists,
// is not a zombie, and started when ours did. PIDs are reused, so the start
// time keeps Down from signalling a stranger. (The command line is no good
// for this: right after exec it can still be empty.)
func (p Process) alive() bool {
	if p.PID <= 0 {
		return false
	}
	start, state, err := procStat(p.PID)
	return err == nil && state != 'Z' && state != 'X' && start == p.StartTicks
}

// procStat reads a process's start time and state from /proc/PID/stat.
func procStat(pid int) (startTicks uint64, state byte, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may hold spaces; fields after
	// it start with field 3 (state); field 22 is the start time.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	startTicks, err = strconv.ParseUint(fields[19], 10, 64)
	return startTicks, fields[0][0], err
}

// stopProcess sends SIGTERM to p's process group, waits up to grace for it to
// exit, then sends SIGKILL and waits again. It is a no-op for a process that
// is already gone.
func stopProcess(p Process, grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	if waitGone(p, grace) {
		return nil
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	if waitGone(p, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) survived SIGKILL", p.Name, p.PID)
}

func waitGone(p Process, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !p.alive()
}

// tailLog returns the last n lines of a log file, for error messages.
func tailLog(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exitedError is returned while waiting for a process that has died.
func exitedError(p Process) error {
	return fmt.Errorf("%s exited; last lines of %s:\n%s", p.Name, p.Log, tailLog(p.Log, 15))
}

var errNotReady = errors.New("not ready")

func itoa(i int) string { return strconv.Itoa(i) }
