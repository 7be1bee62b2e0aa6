package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPU time is the measure that a shared machine disturbs least: the rate
// of a run moves by ±30 % with the neighbours' load, the CPU each
// submission costs much less. intake-bench reads it from /proc (Linux
// only) around a run: Intake's processes, every Postgres process (with
// the time of backends that ended meanwhile, which the postmaster
// collects as its children's) and its own, the load generator's.

// cpuSample is the CPU time used so far by each party.
type cpuSample struct {
	intake, postgres, bench time.Duration
	ok                      bool // intake's and Postgres's were found
}

// clockTick is the unit of /proc/*/stat's times: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// procCPU is pid's user + system time, and its reaped children's.
func procCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0, err
	}
	// The command may hold spaces and parentheses: the fields start
	// after the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime (fields 14–17)
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%s/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// postgresCPU is the CPU time of every process named postgres.
func postgresCPU() (time.Duration, bool) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total time.Duration
	found := false
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		if t, err := procCPU(filepath.Base(d)); err == nil {
			total, found = total+t, true
		}
	}
	return total, found
}

// intakePIDs are the Intake processes to count: -intake-pid's, or those
// intake-bench started (their current runs).
func (b *bench) intakePIDs() []int {
	if b.cfg.IntakePID != 0 {
		return []int{b.cfg.IntakePID}
	}
	var pids []int
	for _, p := range append(append([]*process(nil), b.nodes...), b.worker) {
		if p != nil && p.pid() != 0 {
			pids = append(pids, p.pid())
		}
	}
	return pids
}

func (b *bench) sampleCPU() cpuSample {
	var s cpuSample
	pids := b.intakePIDs()
	for _, pid := range pids {
		t, err := procCPU(strconv.Itoa(pid))
		if err != nil {
			return s
		}
		s.intake += t
	}
	s.bench, _ = procCPU("self")
	var found bool
	s.postgres, found = postgresCPU()
	s.ok = found && len(pids) > 0
	return s
}

// printCPU prints the CPU each submission cost between two samples;
// jobsDone says every job the load caused was done by the second.
func printCPU(out io.Writer, before, after cpuSample, submissions int, jobsDone bool) {
	if !before.ok || !after.ok || submissions == 0 {
		return
	}
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)/float64(submissions))
	}
	what := "the load and every job it caused"
	if !jobsDone {
		what = "the load, its jobs not all done"
	}
	fmt.Fprintf(out, "CPU per submission, %s: intake %s, Postgres %s (intake-bench, the load's clients: %s)\n",
		what, per(after.intake-before.intake), per(after.postgres-before.postgres), per(after.bench-before.bench))
}
