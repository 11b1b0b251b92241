package server_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/servertest"
)

// earlyDesc is a backend service whose client stream ends the call after
// its first request, while the client may still be sending.
func earlyDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "race.Early",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Stream", ClientStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(pb.UserRequest)); err != nil {
				return err
			}
			return status.Error(codes.FailedPrecondition, "enough")
		}}},
	}
}

// webStatus is the status of a gRPC-Web response: its trailer frame's, or
// its headers' for a trailers-only response.
func webStatus(t *testing.T, header http.Header, body []byte) *grpcstatus.Status {
	md := headerMD(t, header)
	rr := grpcwire.NewResponseReader(bytes.NewReader(body), 1<<20)
	for f, err := rr.Next(); err == nil; f, err = rr.Next() {
		if f.IsTrailer() {
			md, _ = grpcwire.ParseHeaderBlock(f.Payload)
		}
	}
	return grpcwire.StatusFromTrailers(md)
}

// earlyFront starts a front before a backend of earlyDesc.
func earlyFront(t *testing.T) *servertest.Server {
	gs := grpc.NewServer()
	gs.RegisterService(earlyDesc(), struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	return startFront(t, server.Config{}, front.Backend{Addr: ln.Addr().String()})
}

// TestFrontBackendEndsFirst: the backend ends calls while their clients are
// still sending, over gRPC-Web on h2c (where net/http's response writer is
// let go the moment the handler returns), many at once. The front answers
// each with the backend's status, and its request copier never touches a
// finished request: under -race, a touch is a reported race or a panic
// that takes the test binary down.
func TestFrontBackendEndsFirst(t *testing.T) {
	fr := earlyFront(t)

	client := h2cClient()
	frame := webFrames(t, &pb.UserRequest{Id: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 8*25)
	for range 8 {
		wg.Go(func() {
			for range 25 {
				pr, pw := io.Pipe()
				stop := make(chan struct{})
				go func() {
					defer pw.Close()
					for {
						if _, err := pw.Write(frame); err != nil {
							return
						}
						select {
						case <-stop:
							return
						case <-time.After(time.Millisecond):
						}
					}
				}()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fr.URL+"/race.Early/Stream", pr)
				req.Header.Set("Content-Type", grpcwire.ContentTypeProto)
				resp, err := client.Do(req)
				if err != nil {
					close(stop)
					errs <- err
					return
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				close(stop)
				if st := webStatus(t, resp.Header, body); st.Code() != codes.FailedPrecondition {
					errs <- status.Errorf(st.Code(), "%s; want FailedPrecondition (HTTP %d, %d body bytes, read error %v, headers %v)", st.Message(), resp.StatusCode, len(body), rerr, resp.Header)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestFrontBackendEndsFirstH1KeepsConnection: over HTTP/1.1, the backend
// ends a client stream while its client is still sending (the front's
// request copier waits in a read of the body). The client, which sends
// its rest a moment later, gets the backend's status on a connection that
// stays open and serves its next call: the read in progress is given the
// time the rest of the body has, not cut. (Cut, the body broke and the
// connection closed while the client was still writing: a conformance
// client then got a broken pipe.)
func TestFrontBackendEndsFirstH1KeepsConnection(t *testing.T) {
	fr := earlyFront(t)

	client := h1Client()
	frame := webFrames(t, &pb.UserRequest{Id: 1})
	var reused []bool
	for i := range 3 {
		pr, pw := io.Pipe()
		go func() {
			pw.Write(frame)
			// The backend answers the first message; the copier is
			// waiting in a read when the front's handler returns.
			time.Sleep(100 * time.Millisecond)
			pw.Write(frame)
			pw.Close()
		}()
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) { reused = append(reused, ci.Reused) },
		}), http.MethodPost, fr.URL+"/race.Early/Stream", pr)
		req.Header.Set("Content-Type", grpcwire.ContentTypeProto)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("call %d: reading the response: %v", i, err)
		}
		if st := webStatus(t, resp.Header, body); st.Code() != codes.FailedPrecondition {
			t.Fatalf("call %d: %v; want FailedPrecondition", i, st)
		}
		if resp.Close {
			t.Fatalf("call %d: the response closes the connection (Connection: close)", i)
		}
	}
	if want := []bool{false, true, true}; !slices.Equal(reused, want) {
		t.Errorf("connection reused per call: %v; want %v", reused, want)
	}
}
