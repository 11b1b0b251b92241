package conformance

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DefaultParallel is how many calls the suite's reference clients make at
// once in server mode: the runner's own default on two cores.
const DefaultParallel = 8

// Suite is one run of the suite's runner, connectconformance, against a
// program under test: this test binary again, in Role.
type Suite struct {
	// Name names the run's log, .tmp/conformance/NAME.log.
	Name string
	// Mode is "server" (the suite's reference clients call the server
	// under test) or "client" (the client under test calls the suite's
	// reference servers).
	Mode string
	// Role is the program under test (RoleFront, RoleServer, RoleClient).
	Role string
	// Config is the file under testdata that says which features the
	// program under test has, and so which cases run.
	Config string
	// KnownFailing are files under testdata of cases that must fail: the
	// runner fails a run where one of them passes.
	KnownFailing []string
	// TestFiles, when set, are test suites of ours under testdata, run
	// instead of the suite's own.
	TestFiles []string
	// Env is added to the environment of the program under test.
	Env []string
	// Parallel is how many calls are in flight at once in server mode;
	// zero means DefaultParallel.
	Parallel int
}

// Result is what a run counted, and how long it took.
type Result struct {
	Cases, Passed, KnownFailures int
	Duration                     time.Duration
}

// String describes the result in words that no test runner reading the
// output takes for its own summary.
func (r Result) String() string {
	return fmt.Sprintf("%d cases in %v: %d as they must be, %d known failures as listed", r.Cases, r.Duration.Round(100*time.Millisecond), r.Passed, r.KnownFailures)
}

// Run runs the suite and fails t on any case that passes where it must fail
// or fails where it must pass, on any case that could not run, and on any
// panic or data race that a program under test logged. The runner's whole
// output is kept in .tmp/conformance/Name.log.
func (s Suite) Run(t *testing.T) Result {
	t.Helper()
	root := moduleRoot(t)
	runner := tool(t, root, "connectconformance")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	testdata := filepath.Join(root, "cmd", "playground", "internal", "conformance", "testdata")
	parallel := s.Parallel
	if parallel == 0 {
		parallel = DefaultParallel
	}
	args := []string{"--mode", s.Mode, "--conf", filepath.Join(testdata, s.Config), "-v"}
	for _, f := range s.KnownFailing {
		args = append(args, "--known-failing", "@"+filepath.Join(testdata, f))
	}
	for _, f := range s.TestFiles {
		args = append(args, "--test-file", filepath.Join(testdata, f))
	}
	if s.Mode == "server" {
		args = append(args, "--parallel", strconv.Itoa(parallel))
	}
	args = append(args, "--", self)

	cmd := exec.Command(runner, args...)
	dieWithParent(cmd)
	cmd.Env = append(os.Environ(), RoleEnv+"="+s.Role)
	if s.Role == RoleFront {
		cmd.Env = append(cmd.Env, backendEnv+"="+tool(t, root, "grpcserver"))
	}
	cmd.Env = append(cmd.Env, s.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	runErr := cmd.Run()
	res := Result{Duration: time.Since(start)}

	logDir := filepath.Join(root, ".tmp", "conformance")
	logFile := filepath.Join(logDir, s.Name+".log")
	if err := os.MkdirAll(logDir, 0o755); err == nil {
		os.WriteFile(logFile, out.Bytes(), 0o644)
	}
	log := out.String()
	res.Cases = count(log, `(?m)^Total cases: (\d+)$`)
	res.Passed = count(log, `(?m)^(\d+) passed, \d+ failed$`)
	res.KnownFailures = count(log, `(?m)^\(Another (\d+) failed as expected`)
	if runErr != nil || res.Passed == 0 || strings.Contains(log, "could not be run") {
		t.Errorf("conformance %s (%s): %v; %s; what failed:\n%s\nthe whole log: %s", s.Name, s.Mode, runErr, res, failures(log), logFile)
	}
	if bad := crashes(log); bad != "" {
		t.Errorf("conformance %s: a program under test crashed or raced:\n%s\nthe whole log: %s", s.Name, bad, logFile)
	}
	return res
}

// count returns the number re's first group matches in log, or 0.
func count(log, re string) int {
	m := regexp.MustCompile(re).FindStringSubmatch(log)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// maxReportLines bounds what a failed run prints of its failures.
const maxReportLines = 200

// failures returns the runner's reports of unexpected results, each an
// unindented "FAILED:" line and its indented explanation, and the lines
// that say why the runner itself failed.
func failures(log string) string {
	var b strings.Builder
	n := 0
	in := false
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.HasPrefix(line, "FAILED:"), strings.Contains(line, "could not be run"), strings.HasPrefix(line, "conformance "):
			in = true
		case strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " "):
		default:
			in = false
		}
		if in {
			if n++; n > maxReportLines {
				b.WriteString("...\n")
				break
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// crashes returns the lines of log that show a panic, a fatal runtime error
// or a data race in a program under test.
func crashes(log string) string {
	var b strings.Builder
	for _, line := range strings.Split(log, "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "panic") || strings.Contains(line, "fatal error:") || strings.Contains(line, "DATA RACE") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// moduleRoot returns the folder of the playground's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// tool returns the path of a command that proto/tools/go.mod pins, built
// (once, into Go's build cache) by go tool -n.
func tool(t *testing.T, root, name string) string {
	t.Helper()
	cmd := exec.Command("go", "tool", "-modfile="+filepath.Join(root, "proto", "tools", "go.mod"), "-n", name)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool -n %s: %v\n%s", name, err, out)
	}
	return strings.TrimSpace(string(out))
}
