package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	berrors "go.etcd.io/bbolt/errors"
)

// The checker process: checkFile run in a process of its own.
//
// Whatever bbolt does to the process that reads a damaged file (a memory
// fault on a goroutine it starts, a fatal out-of-memory, a cursor spinning
// for ever), it does it to the checker, and the process that opens the
// store only sees a checker that did not report, and says why. OpenBolt
// starts the running program's own executable with checkerEnv naming the
// file; this package's init function sees it and becomes the checker before
// main runs, so every program that links OpenBolt can check in a process
// of its own, and nothing need be wired into its main. The checker's memory
// is bounded (checkerMemory), its time by the lease it reports: on its
// standard output it writes one line per promise its check makes ("lease
// 1s": it will read a key or end within 1s), then its verdict ("ok", or
// "refused KIND MESSAGE"). The parent stops it when a lease runs out by
// more than leaseGrace.

// checkerEnv, in the environment of a process, makes it a checker of the
// store file it names: it checks it, reports, and exits before main.
const checkerEnv = "GRPCPLAY_STORE_CHECK"

const (
	// checkerStart bounds the checker's start, until its first lease: the
	// program's start-up, its package init functions.
	checkerStart = 10 * time.Second
	// leaseGrace is how long past its lease a checker may take to end by
	// itself (its own watchdog runs every stallLimit/10) before it is
	// stopped.
	leaseGrace = 3 * time.Second
	// checkerHeap is the memory the checker's heap may use besides what
	// it needs per byte of the file (checkerMemory): a soft limit. A
	// checker of 100,000 users (a 16 MiB file) peaks at 22 MB resident,
	// the file's pages included.
	checkerHeap = 256 << 20
	// checkerThreads is the address space allowed the checker's threads
	// (a stack of 8 MiB each where the C library makes them; a malloc
	// arena of 64 MiB for some) and the runtime's own reservations, on
	// top of its heap and the file's memory map (checkerAddressSpace).
	checkerThreads = 512 << 20
	// maxReport bounds a line of the checker's report and what is kept of
	// its standard error.
	maxReport = 64 << 10
)

func init() {
	if path, ok := os.LookupEnv(checkerEnv); ok {
		os.Exit(runChecker(path, os.Stdout))
	}
}

// checkerMemory is the heap a checker of a file of size bytes may use, a
// soft limit: checkerHeap, and as much again as the file for bbolt's and
// Tx.Check's maps of its pages and its freelist.
func checkerMemory(size int64) int64 { return checkerHeap + size }

// checkerAddressSpace is the address space a checker of a file of size
// bytes may take beyond what it holds as it starts, a hard limit: its heap,
// bbolt's memory map of the file (at most twice the file: bbolt maps a
// power of two up to 1 GiB, then whole GiBs) and checkerThreads. A loop in
// the page tree, whose cursor's stack grows by hundreds of megabytes a
// second, meets its lease (stallLimit) before this limit.
func checkerAddressSpace(size int64) int64 {
	return checkerMemory(size) + 2*size + 32<<10 + checkerThreads
}

// runChecker checks the store file at path, as a checker process, and
// writes its report to out. It returns the process's exit code.
func runChecker(path string, out io.Writer) int {
	r := &checkerReport{w: out}
	var size int64
	if info, err := os.Stat(path); err == nil {
		size = info.Size()
	}
	// The check runs on one goroutine at a time (then Tx.Check's): two Ps
	// keep the checker's threads few on a machine of many cores.
	runtime.GOMAXPROCS(min(2, runtime.GOMAXPROCS(0)))
	debug.SetMemoryLimit(checkerMemory(size))
	if err := limitAddressSpace(checkerAddressSpace(size)); err != nil {
		r.verdict(fmt.Errorf("limit the checker's memory: %w", err))
		return 0
	}
	r.verdict(checkFile(path, r.lease))
	return 0
}

// checkerReport writes a checker's report, one line at a time: the lease
// from the check's goroutine, the verdict from the main one.
type checkerReport struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *checkerReport) line(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	io.WriteString(r.w, s+"\n")
}

func (r *checkerReport) lease(d time.Duration) { r.line("lease " + d.String()) }

// verdict reports err, the check's outcome, by kind: what describe tells
// apart.
func (r *checkerReport) verdict(err error) {
	if err == nil {
		r.line("ok")
		return
	}
	kind := "error"
	for _, k := range checkerKinds {
		if errors.Is(err, k.err) {
			kind = k.name
			break
		}
	}
	r.line("refused " + kind + " " + strconv.Quote(err.Error()))
}

// checkerKinds are the kinds of error a checker reports and describe tells
// apart; the parent rebuilds each as an error wrapping err.
var checkerKinds = []struct {
	name string
	err  error
}{
	{"empty", errEmpty},
	{"locked", berrors.ErrTimeout},
	{"invalid", berrors.ErrInvalid},
	{"invalid", berrors.ErrVersionMismatch},
	{"invalid", berrors.ErrChecksum},
	{"damaged", errDamaged},
	{"not-ours", errNotOurs},
}

// checkerError is a checker's refusal, rebuilt in its parent: the
// checker's message, wrapping the kind's error.
type checkerError struct {
	kind error // nil for "error"
	msg  string
}

func (e *checkerError) Error() string { return e.msg }
func (e *checkerError) Unwrap() error { return e.kind }

// unfinishedError says that a checker ended, or was stopped, without a
// verdict, for a reason that need not be the file's.
type unfinishedError struct{ why string }

func (e *unfinishedError) Error() string { return "its check did not finish: " + e.why }

// checkInChecker checks the store file at path in a checker process, this
// program's executable started again, and returns the checker's verdict
// (nil: the file passed) or why it gave none. started is false when no
// checker could be started, and then err says why.
func checkInChecker(path string) (started bool, err error) {
	exe, err := executable()
	if err != nil {
		return false, err
	}
	cmd := exec.Command(exe)
	// The checker needs nothing of the program's arguments; its
	// tracebacks, were it to crash, stay short; built with -race (tests),
	// it does not pause 1s as it exits.
	cmd.Env = append(os.Environ(), checkerEnv+"="+path, "GOTRACEBACK=single",
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return superviseChecker(cmd, checkerLimits{start: checkerStart, grace: leaseGrace})
}

// checkerLimits are what superviseChecker holds a checker to.
type checkerLimits struct {
	start time.Duration // until its first lease
	grace time.Duration // past each lease
}

// superviseChecker runs cmd, a checker, and returns its verdict or why it
// gave none, as checkInChecker. It stops the checker when lim.start passes
// before its first lease, or a lease runs out by more than lim.grace.
func superviseChecker(cmd *exec.Cmd, lim checkerLimits) (started bool, err error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, err
	}
	stderr := &headBuffer{max: maxReport}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return false, err
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, maxReport)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout) // a line too long: read on to the end
	}()

	var (
		verdict  error
		answered bool
		leased   bool          // a lease was reported
		limit    = lim.start   // the timer's
		stopped  time.Duration // the limit the checker was stopped at; 0: not stopped
	)
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for lines != nil {
		select {
		case line, ok := <-lines:
			switch {
			case !ok:
				lines = nil
			case answered || stopped > 0:
				// Nothing follows a verdict or a stop.
			case strings.HasPrefix(line, "lease "):
				if d, err := time.ParseDuration(strings.TrimPrefix(line, "lease ")); err == nil {
					leased, limit = true, d+lim.grace
					timer.Reset(limit)
				}
			default:
				verdict, answered = parseVerdict(line)
			}
		case <-timer.C:
			if stopped == 0 {
				stopped = limit
				cmd.Process.Kill()
			}
		}
	}
	cmd.Wait()
	switch {
	case answered:
		// A checker that has given up on a check exits while the check's
		// goroutine still runs: whatever that goroutine does meanwhile,
		// the verdict stands.
		return true, verdict
	case stopped > 0 && leased:
		return true, damaged("its check did not finish: the checker made no progress for %v and was stopped", stopped)
	case stopped > 0:
		return true, &unfinishedError{fmt.Sprintf("the checker did not start within %v and was stopped", stopped)}
	}
	return true, checkerDied(cmd.ProcessState, stderr.Bytes())
}

// parseVerdict reads a checker's verdict line; ok is false when line is
// not one.
func parseVerdict(line string) (verdict error, ok bool) {
	if line == "ok" {
		return nil, true
	}
	rest, found := strings.CutPrefix(line, "refused ")
	if !found {
		return nil, false
	}
	name, quoted, _ := strings.Cut(rest, " ")
	msg, err := strconv.Unquote(quoted)
	if err != nil {
		return nil, false
	}
	e := &checkerError{msg: msg}
	for _, k := range checkerKinds {
		if k.name == name {
			e.kind = k.err
			break
		}
	}
	return e, true
}

// checkerDied says why a checker ended without a verdict, from how it
// ended and the start of its standard error, where Go's runtime says what
// killed it. An end that reading the file causes is an error wrapping
// errDamaged; any other, an *unfinishedError.
func checkerDied(state *os.ProcessState, stderr []byte) error {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch ws.Signal() {
		case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP:
			return &unfinishedError{fmt.Sprintf("the checker was interrupted (%v)", state)}
		}
		return &unfinishedError{fmt.Sprintf("the checker was killed (%v)", state)}
	}
	say := func(s string) bool { return bytes.Contains(stderr, []byte(s)) }
	switch {
	case say("out of memory") || say("cannot allocate memory") || say("failed to create new OS thread") ||
		say("address space collisions"): // how a -race build runs out
		return damaged("its check did not finish: the checker ran out of memory")
	case say("unexpected fault address") || say("signal SIGSEGV") || say("signal SIGBUS"):
		return damaged("its check did not finish: bbolt read outside the file's memory map (a memory fault)")
	case say("stack exceeds") || say("stack overflow"):
		return damaged("its check did not finish: it overflowed the checker's stack, so its page tree may loop")
	}
	if first, ok := bytes.CutPrefix(stderr, []byte("panic: ")); ok {
		first, _, _ = bytes.Cut(first, []byte("\n"))
		return damaged("its check did not finish: bbolt stopped reading it: %s", shorten(string(first), 200))
	}
	return &unfinishedError{fmt.Sprintf("the checker ended with %v, without a verdict", state)}
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// headBuffer keeps the first max bytes written to it and discards the rest.
type headBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (h *headBuffer) Bytes() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.buf.Bytes())
}
