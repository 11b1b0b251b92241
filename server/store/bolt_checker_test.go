package store

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSuperviseChecker runs checkers that misbehave, real processes (a
// shell script each), and wants each end told apart: a verdict, whatever
// came before or after it; a checker silent from the start (not the file's
// fault) or silent past its lease (the file's); a checker interrupted, or
// ended by Go's runtime, saying why.
func TestSuperviseChecker(t *testing.T) {
	lim := checkerLimits{start: 500 * time.Millisecond, grace: 200 * time.Millisecond}
	for _, tc := range []struct {
		name, script string
		damaged      bool   // the error wraps errDamaged; else it is an *unfinishedError, or nil for want ""
		want         string // in the error; "" for none
	}{
		{"ok", `echo "lease 1s"; echo ok`, false, ""},
		{"ok after other output", `echo "some library's line"; echo "lease 1s"; echo ok`, false, ""},
		{"ok, then slow to exit", `echo ok; exec sleep 60`, false, ""},
		{"refused", `echo "lease 1s"; echo 'refused damaged "damaged: a \"quoted\" reason"'; exit 0`, true, `damaged: a "quoted" reason`},
		{"silent from the start", `exec sleep 60`, false, "the checker did not start within 500ms and was stopped"},
		{"silent past its lease", `echo "lease 100ms"; exec sleep 60`, true, "the checker made no progress for 300ms and was stopped"},
		{"interrupted", `kill -INT $$; sleep 60`, false, "the checker was interrupted (signal: interrupt)"},
		{"out of memory", `echo "lease 1s"; echo "fatal error: runtime: out of memory" >&2; exit 2`, true, "the checker ran out of memory"},
		{"memory fault", `echo "lease 1s"; printf 'unexpected fault address 0x7f0\nfatal error: fault\n[signal SIGBUS: bus error]\n' >&2; exit 2`, true, "bbolt read outside the file's memory map (a memory fault)"},
		{"a panic", `printf 'panic: assertion failed: something\n\ngoroutine 7 [running]:\n' >&2; exit 2`, true, "bbolt stopped reading it: assertion failed: something"},
		{"another end", `echo "lease 1s"; echo "no such thing" >&2; exit 3`, false, "the checker ended with exit status 3, without a verdict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started, err := superviseChecker(exec.Command("/bin/sh", "-c", tc.script), lim)
			if !started {
				t.Fatalf("the checker did not start: %v", err)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("superviseChecker = %v; want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("superviseChecker = %v; want %q", err, tc.want)
			}
			if _, unfinished := errors.AsType[*unfinishedError](err); errors.Is(err, errDamaged) != tc.damaged || unfinished == tc.damaged {
				t.Fatalf("superviseChecker = %v (%T): damaged %v; want %v", err, err, errors.Is(err, errDamaged), tc.damaged)
			}
		})
	}
	if started, err := superviseChecker(exec.Command("/no/such/checker"), lim); started || err == nil {
		t.Fatalf("superviseChecker of a missing program = %v, %v; want not started, an error", started, err)
	}
}
