package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is an intake command the bench started and watches, as a
// supervisor would: it can be SIGKILLed and started again, it notices exits
// nobody asked for, and it remembers the peak RSS of each of its runs.
type process struct {
	name  string   // "intake serve", for messages
	bin   string   // the intake binary
	args  []string // its command line after the binary
	env   []string // the whole environment
	log   *os.File // stdout and stderr of every run, appended
	ready string   // a URL that answers 200 once the process is up; "": none

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current run ends
	stopping bool          // the current run's end was asked for
	peaks    []int64       // VmHWM of each ended run, bytes (0: unknown)
	crashes  []string      // runs that ended by themselves
}

// start starts a run and waits up to wait for its ready URL. It fails when
// the process cannot start, exits first, or is not ready in time.
func (p *process) start(ctx context.Context, wait time.Duration) error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s is already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	fmt.Fprintf(p.log, "=== intake-bench: started %s as pid %d at %s\n", p.name, cmd.Process.Pid, time.Now().Format(time.RFC3339Nano))
	exited := make(chan struct{})
	p.cmd, p.exited, p.stopping = cmd, exited, false
	p.mu.Unlock()
	go p.watch(cmd, exited)

	if p.ready == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for !isReady(ctx, p.ready) {
		select {
		case <-exited:
			return fmt.Errorf("%s (pid %d) exited before it was ready: see its log %s", p.name, cmd.Process.Pid, p.log.Name())
		case <-ctx.Done():
			p.kill() // not left running unready, where nothing would stop it
			return fmt.Errorf("%s (pid %d) was not ready at %s within %s: see its log %s", p.name, cmd.Process.Pid, p.ready, wait, p.log.Name())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// watch waits for a run to end and records an end nobody asked for.
func (p *process) watch(cmd *exec.Cmd, exited chan struct{}) {
	err := cmd.Wait()
	p.mu.Lock()
	if !p.stopping {
		p.crashes = append(p.crashes, fmt.Sprintf("%s pid %d exited by itself (%v) at %s", p.name, cmd.Process.Pid, err, time.Now().Format(time.TimeOnly)))
		p.peaks = append(p.peaks, 0)
	}
	fmt.Fprintf(p.log, "=== intake-bench: %s pid %d ended (%v)\n", p.name, cmd.Process.Pid, err)
	p.cmd = nil
	p.mu.Unlock()
	close(exited)
}

// kill SIGKILLs the current run and waits for it to end. It returns the
// run's pid and peak RSS, read just before the kill.
func (p *process) kill() (pid int, peak int64, err error) {
	return p.end(syscall.SIGKILL, 0)
}

// stop ends the current run with SIGTERM, as an operator would, and
// SIGKILLs it after grace. A process that is not running is not an error.
func (p *process) stop(grace time.Duration) error {
	_, _, err := p.end(syscall.SIGTERM, grace)
	if errors.Is(err, errNotRunning) {
		return nil
	}
	return err
}

var errNotRunning = errors.New("not running")

func (p *process) end(sig syscall.Signal, grace time.Duration) (pid int, peak int64, err error) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return 0, 0, fmt.Errorf("%s: %w", p.name, errNotRunning)
	}
	pid = cmd.Process.Pid
	peak, _ = peakRSS(pid) // it may die on its own meanwhile: then unknown
	p.stopping = true
	p.peaks = append(p.peaks, peak)
	err = cmd.Process.Signal(sig)
	p.mu.Unlock()
	if err != nil {
		return pid, peak, fmt.Errorf("signal %s: %w", p.name, err)
	}
	if grace <= 0 {
		<-exited
		return pid, peak, nil
	}
	select {
	case <-exited:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-exited
		return pid, peak, fmt.Errorf("%s (pid %d) did not stop within %s of SIGTERM; killed", p.name, pid, grace)
	}
	return pid, peak, nil
}

// running reports whether a run is going on.
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// pid is the current run's pid, or 0.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// peakRSSes are the peak RSS of every run so far, the current one (as far
// as it has got) last; 0 where it could not be read.
func (p *process) peakRSSes() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	peaks := append([]int64(nil), p.peaks...)
	if p.cmd != nil {
		peak, _ := peakRSS(p.cmd.Process.Pid)
		peaks = append(peaks, peak)
	}
	return peaks
}

// unplannedExits are the runs that ended by themselves.
func (p *process) unplannedExits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.crashes...)
}

// peakRSS is the peak resident set size (VmHWM) of the process pid, in
// bytes, from /proc (Linux only).
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status: VmHWM %q: %w", pid, rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
}
