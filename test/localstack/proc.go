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
	// Reap it in the background if it dies while we are still running, so a
	// crash shows up as "not alive" rather than as a zombie that looks alive.
	go func() { _ = cmd.Wait() }()
	return p, nil
}

// alive reports whether p is still the process we started: the PID exists, is
// not a zombie, and its command line still names our binary. PIDs are reused,
// so the command line check keeps Down from signalling a stranger.
func (p Process) alive() bool {
	if p.PID <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	// Field 3, after the parenthesised command, is the state.
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte(p.Binary))
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
