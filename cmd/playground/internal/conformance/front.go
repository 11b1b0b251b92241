package conformance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	conformancev1 "github.com/grpcplay/playground/pb/conformance/v1"
)

// readyLine is the playground's line that says it serves, and where.
var readyLine = regexp.MustCompile(`playground ready.* url=http://(\S+)`)

// stopGrace is how long a process of ours may take to stop after SIGTERM
// before it is killed.
const stopGrace = 10 * time.Second

// serveFront is the server under test of the front: the suite's grpc-go
// reference server (backendBin) serving native gRPC, and before it the
// built playground (playgroundBin) with -backend, on a loopback port that
// it writes to out. The reference clients call the front with whatever
// protocol the runner's settings name; the front calls the backend over
// native gRPC, h2c. Both processes log to logOut, each line prefixed with
// its name, and run until ctx ends; one that ends first is an error.
func serveFront(ctx context.Context, in io.Reader, out, logOut io.Writer, playgroundBin, backendBin string) error {
	req := new(conformancev1.ServerCompatRequest)
	if err := readMessage(in, req); err != nil {
		return fmt.Errorf("read the server's settings: %w", err)
	}
	if req.GetUseTls() {
		return errors.New("TLS: the front is tested in cleartext")
	}
	logs := &lineWriter{w: logOut}
	limit := req.GetMessageReceiveLimit()

	// The backend: native gRPC on h2c, with the same receive limit.
	backend, beOut, err := startProc(exec.Command(backendBin), logs, "reference server: ")
	if err != nil {
		return err
	}
	defer backend.stop()
	settings := &conformancev1.ServerCompatRequest{
		Protocol:            conformancev1.Protocol_PROTOCOL_GRPC,
		HttpVersion:         conformancev1.HTTPVersion_HTTP_VERSION_2,
		MessageReceiveLimit: limit,
	}
	beAddr := new(conformancev1.ServerCompatResponse)
	if err := writeMessage(backend.stdin, settings); err != nil {
		return fmt.Errorf("write the reference server's settings: %w", err)
	}
	backend.stdin.Close()
	if err := readMessage(beOut, beAddr); err != nil {
		return fmt.Errorf("read where the reference server listens: %w", err)
	}

	// The front.
	// The front keeps its default -max-msg-size: the receive limit is the
	// backend's, which the front passes on. (Its own bounds requests and
	// replies alike, where the suite's limit is on requests only: the
	// suite's replies echo requests at the limit.)
	front, err := newProc(exec.Command(playgroundBin, "-addr", "127.0.0.1:0",
		"-backend", net.JoinHostPort(beAddr.GetHost(), strconv.Itoa(int(beAddr.GetPort())))))
	if err != nil {
		return err
	}
	defer front.stop()
	addr, err := awaitReady(front.stderr, logs, fmt.Sprintf("front %v %v: ", req.GetHttpVersion(), req.GetProtocol()))
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("the playground's address %q: %w", addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("the playground's port %q: %w", port, err)
	}
	if err := writeMessage(out, &conformancev1.ServerCompatResponse{Host: host, Port: uint32(p)}); err != nil {
		return fmt.Errorf("write where the front listens: %w", err)
	}

	select {
	case <-ctx.Done():
		return nil
	case <-backend.done:
		return errors.New("the reference server ended before the run did")
	case <-front.done:
		return errors.New("the playground ended before the run did")
	}
}

// awaitReady reads the playground's log until its ready line and returns
// the address it names; the log, that line included, goes on to logs with
// prefix before each line.
func awaitReady(stderr io.Reader, logs *lineWriter, prefix string) (string, error) {
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		logs.line(prefix + line)
		if m := readyLine.FindStringSubmatch(line); m != nil {
			go logs.copyLines(sc, stderr, prefix)
			return m[1], nil
		}
	}
	return "", errors.New("the playground ended without saying where it listens")
}

// proc is a process of ours: its standard input and error as pipes, and
// done, closed once it ended.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr io.Reader
	done   chan struct{}
}

// newProc starts cmd, dying with this process where the system allows.
func newProc(cmd *exec.Cmd) (*proc, error) {
	dieWithParent(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// An *os.File of ours, so that Wait does not close it under a reader.
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = errW
	err = cmd.Start()
	errW.Close()
	if err != nil {
		errR.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &proc{cmd: cmd, stdin: stdin, stderr: errR, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// startProc starts cmd with its log going to logs, each line after
// prefix, and returns it with its standard output.
func startProc(cmd *exec.Cmd, logs *lineWriter, prefix string) (*proc, io.Reader, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout = outW
	p, err := newProc(cmd)
	outW.Close()
	if err != nil {
		outR.Close()
		return nil, nil, err
	}
	go logs.copyLines(bufio.NewScanner(p.stderr), p.stderr, prefix)
	return p, outR, nil
}

// stop sends the process SIGTERM and waits for it to end, killing it after
// stopGrace.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopGrace):
	}
	p.cmd.Process.Kill()
	<-p.done
}

// lineWriter writes whole lines to w, one at a time, for processes that
// log at once.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, s)
}

// copyLines writes the lines sc scans to l, prefix before each, then drains
// r.
func (l *lineWriter) copyLines(sc *bufio.Scanner, r io.Reader, prefix string) {
	for sc.Scan() {
		l.line(prefix + sc.Text())
	}
	io.Copy(io.Discard, r)
}
