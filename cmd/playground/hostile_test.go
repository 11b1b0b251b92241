package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// rssBound is the most resident memory the server may reach under the
// floods below: four concurrent flooding requests on each gRPC-Web path,
// or a thousand server streams that are never read on one native
// connection. Idle, it holds about 30 MB.
const rssBound = 300 << 20

// watchRSS samples pid's resident memory until stop is closed and returns
// the highest figure seen.
func watchRSS(t *testing.T, pid int, stop <-chan struct{}) <-chan int64 {
	peak := make(chan int64, 1)
	go func() {
		var max int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, err := rssBytes(pid); err == nil && rss > max {
				max = rss
			}
			select {
			case <-stop:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	return peak
}

// floodFrame is a valid UserRequest of about 1 MiB (an unknown field
// carries the bulk), framed.
func floodFrame(t *testing.T) []byte {
	b, err := proto.Marshal(&pb.UserRequest{Id: 1})
	if err != nil {
		t.Fatal(err)
	}
	bulk := make([]byte, 1<<20)
	rand.Read(bulk)
	b = protowire.AppendBytes(protowire.AppendTag(b, 99, protowire.BytesType), bulk)
	return grpcwire.AppendFrame(nil, grpcwire.FlagData, b)
}

// TestFloodsStayBounded: requests whose bodies stream without end and
// whose responses are never read, four at once on each gRPC-Web path (text,
// binary same-origin and cross-origin, HTTP/2), keep the server's memory
// under rssBound: it reads a body only as fast as the handler takes its
// messages. Through improbable-eng's wrapper, which served text and
// cross-origin calls before, one such request took 1.85 GB in 2 seconds.
func TestFloodsStayBounded(t *testing.T) {
	const other = "https://app.example.com"
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db"), "-allowed-origins", other)
	addr := p.waitLine(t, readyLine)[1]
	frame := floodFrame(t)
	text := []byte(base64.StdEncoding.EncodeToString(frame))
	h2c := &http.Transport{}
	h2c.Protocols = new(http.Protocols)
	h2c.Protocols.SetUnencryptedHTTP2(true)
	paths := []struct {
		name, ctype, origin string
		tr                  http.RoundTripper
		chunk               []byte
	}{
		{"grpc-web-text", grpcwire.ContentTypeText, "", http.DefaultTransport, text},
		{"grpc-web cross-origin", grpcwire.ContentTypeProto, other, http.DefaultTransport, frame},
		{"grpc-web-text cross-origin", grpcwire.ContentTypeText, other, http.DefaultTransport, text},
		{"grpc-web", grpcwire.ContentTypeProto, "", http.DefaultTransport, frame},
		{"grpc-web over h2c", grpcwire.ContentTypeProto, "", h2c, frame},
	}
	native, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer native.Close()
	for _, path := range paths {
		stop := make(chan struct{})
		peak := watchRSS(t, p.cmd.Process.Pid, stop)
		ctx, cancel := context.WithCancel(context.Background())
		var sent atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				pr, pw := io.Pipe()
				go func() {
					for ctx.Err() == nil {
						n, err := pw.Write(path.chunk)
						sent.Add(int64(n))
						if err != nil {
							return
						}
					}
					pw.Close()
				}()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/UserManager/CountAlreadyUsers", pr)
				req.Header.Set("Content-Type", path.ctype)
				if path.origin != "" {
					req.Header.Set("Origin", path.origin)
				}
				resp, err := path.tr.RoundTrip(req)
				if err == nil {
					<-ctx.Done() // and never read the response
					resp.Body.Close()
				}
				pr.CloseWithError(context.Canceled)
			})
		}
		time.Sleep(3 * time.Second)
		// The server still answers others during the flood.
		if _, err := pb.NewUserManagerClient(native).GetUser(t.Context(), &pb.UserRequest{Id: 1}); err != nil {
			t.Errorf("%s: a call during the flood: %v", path.name, err)
		}
		cancel()
		wg.Wait()
		close(stop)
		max := <-peak
		t.Logf("%s: %d MB sent by 4 flooding requests in 3 s; server RSS peaked at %d MB", path.name, sent.Load()>>20, max>>20)
		if max > rssBound {
			t.Errorf("%s: server RSS reached %d MB; the bound is %d MB", path.name, max>>20, rssBound>>20)
		}
	}
}

// TestNativeStreamsBounded: one native connection that opens a thousand
// server streams of 20,000 users each and reads none keeps the server's
// memory under rssBound: the server serves at most
// -max-concurrent-streams of them at once, and each may have only a
// flow-control window of replies in flight. Before those limits the same
// probe held 620 MB.
func TestNativeStreamsBounded(t *testing.T) {
	dir := t.TempDir()
	seed, err := writeSeed(dir, "seed.json", 20_000)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "users.db"), "-seed-file", seed)
	addr := p.waitLine(t, readyLine)[1]
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	um := pb.NewUserManagerClient(cc)
	stop := make(chan struct{})
	peak := watchRSS(t, p.cmd.Process.Pid, stop)
	ctx, cancel := context.WithCancel(context.Background())
	var opened atomic.Int64
	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(func() {
			if _, err := um.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL}); err == nil {
				opened.Add(1) // and never read
			}
			<-ctx.Done()
		})
	}
	time.Sleep(3 * time.Second)
	// Another connection is served meanwhile.
	other, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := pb.NewUserManagerClient(other).GetUser(t.Context(), &pb.UserRequest{Id: 1}); err != nil {
		t.Errorf("a call on another connection: %v", err)
	}
	cancel()
	wg.Wait()
	close(stop)
	max := <-peak
	t.Logf("%d of 1000 streams admitted on one connection; server RSS peaked at %d MB", opened.Load(), max>>20)
	if max > rssBound {
		t.Errorf("server RSS reached %d MB; the bound is %d MB", max>>20, rssBound>>20)
	}
}
