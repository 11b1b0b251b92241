//go:build js && wasm

// Command manystreams opens many server streams at once from one page, on
// the page's own client (package client, default options unless the page
// says otherwise), for the tests and benchmark of static/many_streams_test.go.
//
// Each stream is a grpc.health.v1.Health/Watch: the server answers its
// first message at once and keeps the stream open, so a stream holds its
// transport until the client ends it, as a live feed does. (A
// GetUsersByType of the tutorial's few users is over as soon as the
// server sent them, and its connection free again, whether or not the
// page has read them: it would not show the cap.) Each stream reads its
// first message, then waits at a barrier until every stream has read its
// own (so all were open at once), then is canceled and read to its end. Over fetch, Chromium holds at most 6 connections per host on
// HTTP/1.1, so at most 6 such streams can be open at once; over the
// grpc-mux.v1 socket, all of them.
//
// The page's query sets it up: streams (how many, default 200), mux
// ("never" pins client.MultiplexNever) and wait (ms the barrier waits
// before giving up, default 0: for ever). The outcome goes to
// window.manyStreams and to #out, as JSON: streams, reached (how many read
// their first message before the barrier opened, or gave up and canceled
// them), ms (from the first stream's start until all reached the
// barrier), drained (how many then ended Canceled, as asked) and the
// first few errors.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/protocodec"
)

// outcome is what the page reports.
type outcome struct {
	Streams int      `json:"streams"`
	Reached int      `json:"reached"`
	MS      float64  `json:"ms"`
	Drained int      `json:"drained"`
	Errors  []string `json:"errors"`
}

const maxErrors = 5

// servingReply is grpc.health.v1.HealthCheckResponse{status: SERVING}
// encoded, the only field set: the program reads the reply as an Empty
// with unknown fields and compares, and links no generated gRPC code, so
// `go test` builds it in seconds.
var servingReply = protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)

func main() {
	q, _ := url.ParseQuery(strings.TrimPrefix(js.Global().Get("location").Get("search").String(), "?"))
	n := 200
	if v, err := strconv.Atoi(q.Get("streams")); err == nil && v > 0 {
		n = v
	}
	// The messages are protobuf-go's Empty, which the browser build's
	// DefaultCodec does not encode.
	opts := []client.DialOption{client.WithCodec(protocodec.Codec{})}
	if q.Get("mux") == "never" {
		opts = append(opts, client.WithMultiplexing(client.MultiplexNever))
	}
	wait := time.Duration(0)
	if v, err := strconv.Atoi(q.Get("wait")); err == nil && v > 0 {
		wait = time.Duration(v) * time.Millisecond
	}
	report(run(n, wait, opts))
}

func run(n int, wait time.Duration, opts []client.DialOption) outcome {
	out := outcome{Streams: n}
	conn, err := client.Dial("", opts...)
	if err != nil {
		out.Errors = []string{err.Error()}
		return out
	}
	defer conn.Close()

	var (
		mu       sync.Mutex
		reached  atomic.Int32
		drained  atomic.Int32
		all      = make(chan struct{}) // closed when every stream reached the barrier
		allAt    float64
		ended    sync.WaitGroup
		addError = func(i int, err error) {
			mu.Lock()
			defer mu.Unlock()
			if len(out.Errors) < maxErrors {
				out.Errors = append(out.Errors, fmt.Sprintf("stream %d: %v", i, err))
			}
		}
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := now()
	for i := range n {
		ended.Add(1)
		go func() {
			defer ended.Done()
			s, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, "/grpc.health.v1.Health/Watch")
			if err == nil {
				err = s.SendMsg(&emptypb.Empty{}) // HealthCheckRequest{service: ""}
			}
			if err == nil {
				err = s.CloseSend()
			}
			first := new(emptypb.Empty)
			if err == nil {
				err = s.RecvMsg(first)
			}
			if got := first.ProtoReflect().GetUnknown(); err == nil && !bytes.Equal(got, servingReply) {
				err = fmt.Errorf("first message % x, want % x (SERVING)", got, servingReply)
			}
			if err != nil {
				if ctx.Err() == nil { // not the barrier giving up
					addError(i, err)
				}
				return
			}
			if reached.Add(1) == int32(n) {
				allAt = now()
				close(all)
			}
			<-ctx.Done() // the barrier opened (or gave up): end the stream
			for err == nil {
				err = s.RecvMsg(first)
			}
			if grpcstatus.Code(err) == codes.Canceled {
				drained.Add(1)
			} else {
				addError(i, fmt.Errorf("after the cancel: %w", err))
			}
		}()
	}
	var giveUp <-chan time.Time
	if wait > 0 {
		giveUp = time.After(wait)
	}
	select {
	case <-all:
		out.MS = allAt - start
	case <-giveUp:
	}
	cancel()
	ended.Wait()
	out.Reached, out.Drained = int(reached.Load()), int(drained.Load())
	return out
}

// now is the page's clock, in ms.
func now() float64 { return js.Global().Get("performance").Call("now").Float() }

func report(o outcome) {
	b, _ := json.Marshal(o)
	js.Global().Set("manyStreams", js.Global().Get("JSON").Call("parse", string(b)))
	js.Global().Get("document").Call("getElementById", "out").Set("textContent", string(b))
}
