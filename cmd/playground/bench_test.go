package main

// The playground's benchmarks, run by `make bench` and printed as one table
// by cmd/benchtable. Every benchmark crosses loopback TCP to a server in its
// own process: the built playground binary, and a peer process (this test
// binary re-executed) that serves the same service through improbable-eng's
// grpcweb wrapper and through a plain grpc.Server.Serve.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcplay/playground/cmd/playground/internal/conformance"
	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/server/usermanager"
)

// peerEnv, when set, makes this test binary run as the peer server; the
// peer's TLS server takes its certificate from peerCertEnv and peerKeyEnv.
const (
	peerEnv     = "PLAYGROUND_BENCH_PEER"
	peerCertEnv = "PLAYGROUND_BENCH_CERT"
	peerKeyEnv  = "PLAYGROUND_BENCH_KEY"
)

// bigUsers is the size of the large data sets: users of one type for the
// server-streaming benchmark, ids for the client-streaming one, stored users
// for the AddUser cost.
const bigUsers = 100_000

func TestMain(m *testing.M) {
	conformance.RunRole() // the conformance suite's program under test, when asked
	if os.Getenv(peerEnv) != "" {
		if err := runPeer(); err != nil {
			fmt.Fprintln(os.Stderr, "peer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	fix.stop()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// runPeer serves UserManager, seeded from PLAYGROUND_BENCH_SEED, on
// loopback ports: improbable-eng's wrapper (gRPC-Web and its websockets);
// a plain grpc.Server.Serve, the fastest native gRPC there is, in
// cleartext and over TLS; and the protocol runtime (grpchttp) alone on an
// http.Server, native gRPC served by net/http's HTTP/2. It prints the
// addresses and serves until its standard input closes.
func runPeer() error {
	dir, err := os.MkdirTemp("", "peer")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := server.OpenStore(context.Background(), filepath.Join(dir, "users.db"), os.Getenv("PLAYGROUND_BENCH_SEED"))
	if err != nil {
		return err
	}
	defer st.Close()
	svc := usermanager.New(st, 0, nil)

	wrapped := grpc.NewServer()
	pb.RegisterUserManagerServer(wrapped, svc)
	web := grpcweb.WrapServer(wrapped,
		grpcweb.WithWebsockets(true),
		grpcweb.WithWebsocketOriginFunc(func(*http.Request) bool { return true }),
	)
	webLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(webLn, web)

	plain := grpc.NewServer()
	pb.RegisterUserManagerServer(plain, svc)
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go plain.Serve(plainLn)

	// The same over TLS, with the fixture's certificate.
	cert, err := tls.LoadX509KeyPair(os.Getenv(peerCertEnv), os.Getenv(peerKeyEnv))
	if err != nil {
		return err
	}
	plainTLS := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	pb.RegisterUserManagerServer(plainTLS, svc)
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go plainTLS.Serve(tlsLn)

	// The runtime on net/http, for the row that weighs grpc-go's
	// transport against it.
	rt := grpchttp.New(nil)
	pb.RegisterUserManagerServer(rt, svc)
	rtServer := &http.Server{}
	rt.ConfigureServer(rtServer)
	rtLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go rtServer.Serve(rtLn)

	fmt.Printf("peer web=%s plain=%s plain-tls=%s runtime=%s\n", webLn.Addr(), plainLn.Addr(), tlsLn.Addr(), rtLn.Addr())
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// observedEnv configures the observed server's tracing: OTLP, with a
// sampler that samples nothing (so nothing is ever exported, and the
// endpoint, on loopback, is never dialed).
var observedEnv = []string{
	"OTEL_TRACES_EXPORTER=otlp",
	"OTEL_TRACES_SAMPLER=always_off",
	"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318",
}

// fixture holds the server processes, started on first use and shared by
// every benchmark of the run; TestMain stops them.
type fixture struct {
	once sync.Once
	err  error
	dir  string
	// ours serves the tutorial's six users; big serves bigUsers NORMAL users;
	// small serves 1,000.
	ours, big, small string
	// peerWeb is improbable-eng's wrapper, peerPlain a plain grpc.Server
	// and peerPlainTLS the same over TLS, all in the peer process, with the
	// tutorial's users.
	peerWeb, peerPlain, peerPlainTLS string
	// peerRuntime is the protocol runtime alone on an http.Server.
	peerRuntime string
	// oursTLS serves the tutorial's users over TLS with cert.
	oursTLS string
	// observed serves the tutorial's users with metrics on and tracing
	// configured but not sampled (observedEnv).
	observed string
	cert     *servertest.Certificate
	// front is a playground with -backend peerPlain; proxy improbable-eng's
	// grpcwebproxy before the same backend.
	front, proxy string
	// bin is the playground binary the servers run.
	bin   string
	procs []*exec.Cmd
}

var fix fixture

func (f *fixture) get(b *testing.B) *fixture {
	b.Helper()
	f.once.Do(func() { f.err = f.start() })
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f
}

func (f *fixture) start() error {
	dir, err := os.MkdirTemp("", "playground-bench")
	if err != nil {
		return err
	}
	f.dir = dir
	bin := os.Getenv("PLAYGROUND_BIN")
	f.bin = bin
	if bin == "" {
		bin = filepath.Join(dir, "playground")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			return fmt.Errorf("build the server: %v\n%s", err, out)
		}
		f.bin = bin
	}
	bigSeed, err := writeSeed(dir, "big.json", bigUsers)
	if err != nil {
		return err
	}
	smallSeed, err := writeSeed(dir, "small.json", 1000)
	if err != nil {
		return err
	}
	url := regexp.MustCompile(`url=http://(\S+)`)
	for _, s := range []struct {
		addr *string
		name string
		seed string
	}{{&f.ours, "ours", ""}, {&f.big, "big", bigSeed}, {&f.small, "small", smallSeed}} {
		args := []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(dir, s.name+".db")}
		if s.seed != "" {
			args = append(args, "-seed-file", s.seed)
		}
		cmd := exec.Command(bin, args...)
		m, err := f.spawn(cmd, url, true)
		if err != nil {
			return fmt.Errorf("start %s server: %w", s.name, err)
		}
		*s.addr = m[1]
	}
	if f.cert, err = servertest.WriteCertificate(dir, "127.0.0.1"); err != nil {
		return err
	}
	m, err := f.spawn(exec.Command(bin, "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "tls.db"), "-tls-cert", f.cert.CertFile, "-tls-key", f.cert.KeyFile), regexp.MustCompile(`url=https://(\S+)`), true)
	if err != nil {
		return fmt.Errorf("start the TLS server: %w", err)
	}
	f.oursTLS = m[1]
	obs := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "observed.db"), "-metrics-addr", "127.0.0.1:0")
	obs.Env = append(os.Environ(), observedEnv...)
	if m, err = f.spawn(obs, url, true); err != nil {
		return fmt.Errorf("start the observed server: %w", err)
	}
	f.observed = m[1]
	self, err := os.Executable()
	if err != nil {
		return err
	}
	peer := exec.Command(self)
	peer.Env = append(os.Environ(), peerEnv+"=1", peerCertEnv+"="+f.cert.CertFile, peerKeyEnv+"="+f.cert.KeyFile)
	m, err = f.spawn(peer, regexp.MustCompile(`peer web=(\S+) plain=(\S+) plain-tls=(\S+) runtime=(\S+)`), false)
	if err != nil {
		return fmt.Errorf("start the peer: %w", err)
	}
	f.peerWeb, f.peerPlain, f.peerPlainTLS, f.peerRuntime = m[1], m[2], m[3], m[4]
	if m, err = f.spawn(exec.Command(bin, "-addr", "127.0.0.1:0", "-backend", f.peerPlain), url, true); err != nil {
		return fmt.Errorf("start the front: %w", err)
	}
	f.front = m[1]
	return f.startProxy()
}

// startProxy starts improbable-eng's grpcwebproxy (pinned in
// proto/tools/go.mod) before peerPlain, the front's backend.
func (f *fixture) startProxy() error {
	proxy := filepath.Join(f.dir, "grpcwebproxy")
	build := exec.Command("go", "build", "-o", proxy, "github.com/improbable-eng/grpc-web/go/grpcwebproxy")
	build.Dir = "../../proto/tools"
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build grpcwebproxy: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(proxy, "--backend_addr="+f.peerPlain, "--run_tls_server=false", "--server_bind_address=127.0.0.1",
		fmt.Sprintf("--server_http_debug_port=%d", port), "--allow_all_origins", "--use_websockets",
		"--server_http_max_read_timeout=0", "--server_http_max_write_timeout=0")
	if _, err := f.spawn(cmd, regexp.MustCompile(`listening for http`), false); err != nil {
		return fmt.Errorf("start grpcwebproxy: %w", err)
	}
	f.proxy = fmt.Sprintf("127.0.0.1:%d", port)
	return nil
}

// spawn starts cmd and waits for a line of its output (stderr or stdout)
// that matches re, returning the submatches.
func (f *fixture) spawn(cmd *exec.Cmd, re *regexp.Regexp, fromStderr bool) ([]string, error) {
	var out io.ReadCloser
	var err error
	if fromStderr {
		out, err = cmd.StderrPipe()
	} else {
		out, err = cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
	}
	if err != nil {
		return nil, err
	}
	if _, err := cmd.StdinPipe(); err != nil { // closed at exit: the peer's stop signal
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f.procs = append(f.procs, cmd)
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case m := <-found:
		return m, nil
	case <-time.After(2 * time.Minute):
		return nil, fmt.Errorf("%s did not report its address", cmd.Path)
	}
}

// startFresh starts one more playground server, on a store of its own,
// and returns its address and process; it stops with the others.
func (f *fixture) startFresh(name string, args ...string) (string, *exec.Cmd, error) {
	cmd := exec.Command(f.bin, append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(f.dir, name+".db"), "-max-streams-per-client", "4096"}, args...)...)
	m, err := f.spawn(cmd, regexp.MustCompile(`url=http://(\S+)`), true)
	if err != nil {
		return "", nil, err
	}
	return m[1], cmd, nil
}

func (f *fixture) stop() {
	for _, p := range f.procs {
		p.Process.Signal(syscall.SIGTERM)
		p.Wait()
	}
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// writeSeed writes n NORMAL users in the seed file format.
func writeSeed(dir, name string, n int) (string, error) {
	type seedUser struct {
		ID          uint32 `json:"id"`
		Nickname    string `json:"nickname"`
		MailAddress string `json:"mail_address"`
		UserType    string `json:"user_type"`
	}
	users := make(map[string]seedUser, n)
	for i := 1; i <= n; i++ {
		users[strconv.Itoa(i)] = seedUser{uint32(i), "user" + strconv.Itoa(i), "user" + strconv.Itoa(i) + "@example.com", "NORMAL"}
	}
	b, err := json.Marshal(users)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, b, 0o600)
}

func nativeClient(b *testing.B, addr string) pb.UserManagerClient {
	b.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	return pb.NewUserManagerClient(cc)
}

// rssBytes reads a process's resident set size from /proc.
func rssBytes(pid int) (int64, error) { return procStatus(pid, "VmRSS") }

// anonBytes is pid's anonymous resident memory (its heap and stacks),
// without the pages of its binary it has touched, which a first use of a
// code path adds once.
func anonBytes(pid int) (int64, error) { return procStatus(pid, "RssAnon") }

// procStatus reads a size field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s for pid %d", field, pid)
}
