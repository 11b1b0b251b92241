package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcplay/playground/pb"
)

// The playground binary as a user runs it: built, started with flags from
// the environment, called over the port it logs, stopped with SIGTERM.

// builtDir holds the binary the tests build, once; TestMain removes it.
var builtDir string

// built builds this command once per test binary.
var built = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "playground-bin")
	if err != nil {
		return "", err
	}
	builtDir = dir
	bin := filepath.Join(dir, "playground")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// buildPlayground returns the path of this command, built.
func buildPlayground(t *testing.T) string {
	t.Helper()
	bin, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// process is a running playground and the lines it has logged.
type process struct {
	cmd   *exec.Cmd
	lines chan string
	log   strings.Builder // every line read so far
}

func start(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		io.Copy(io.Discard, stderr)
		close(p.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// waitLine returns the first submatch of the next logged line matching re,
// failing the test when the process ends or goes quiet first.
func (p *process) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("the process ended without logging %s; its log:\n%s", re, p.log.String())
			}
			p.log.WriteString(line + "\n")
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no line matching %s in 30s; the log:\n%s", re, p.log.String())
		}
	}
}

// wait returns the process's exit code once it ends.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for line := range p.lines {
			p.log.WriteString(line + "\n")
		}
		done <- p.cmd.Wait()
	}()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("the process did not exit; its log:\n%s", p.log.String())
		return -1
	}
}

var readyLine = regexp.MustCompile(`playground ready.* url=http://(\S+)`)

func TestBinaryLifecycle(t *testing.T) {
	bin := buildPlayground(t)
	data := filepath.Join(t.TempDir(), "nested", "folder", "users.db")
	// PLAYGROUND_ADDR cannot be listened on: -addr, on the command line, wins.
	env := []string{"PLAYGROUND_ADDR=256.0.0.1:1", "PLAYGROUND_DATA=" + data}
	p := start(t, bin, env, "-addr", "127.0.0.1:0")
	addr := p.waitLine(t, readyLine)[1]
	if _, err := os.Stat(data); err != nil {
		t.Fatalf("the store file named by PLAYGROUND_DATA: %v", err)
	}

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := pb.NewUserManagerClient(cc).GetUser(ctx, &pb.UserRequest{Id: 1})
	if err != nil || r.GetUser().GetNickname() != "admin" {
		t.Fatalf("GetUser 1 on the logged address: %v, %v", r, err)
	}

	// A second server on the same store stops with a clear error, and the
	// first goes on serving.
	second := start(t, bin, env, "-addr", "127.0.0.1:0")
	if code := second.wait(t); code == 0 || !strings.Contains(second.log.String(), "locked by another process") {
		t.Fatalf("second server on a store in use: exit code %d, log:\n%s", code, second.log.String())
	}
	if _, err := pb.NewUserManagerClient(cc).GetUser(ctx, &pb.UserRequest{Id: 2}); err != nil {
		t.Fatalf("first server after the second was refused: %v", err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, regexp.MustCompile(`shutting down`))
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d; log:\n%s", code, p.log.String())
	}
}

func TestBinaryFlagErrors(t *testing.T) {
	bin := buildPlayground(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"bad environment value", []string{"PLAYGROUND_MAX_STREAMS=many"}, nil, "not a valid -max-streams"},
		{"bad log level", nil, []string{"-log-level", "loud"}, "-log-level"},
		{"corrupt store", nil, []string{"-data", writeFile(t, dir, "corrupt.db", strings.Repeat("not bbolt ", 1000))}, "corrupt.db"},
		{"missing seed file", nil, []string{"-seed-file", filepath.Join(dir, "none.json")}, "none.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db")}, tc.args...)
			p := start(t, bin, tc.env, args...)
			if code := p.wait(t); code == 0 || !strings.Contains(p.log.String(), tc.want) {
				t.Fatalf("exit code %d; want non-zero and a log naming %q:\n%s", code, tc.want, p.log.String())
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
