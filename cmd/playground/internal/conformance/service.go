package conformance

import (
	"context"
	"io"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	conformancev1 "github.com/grpcplay/playground/pb/conformance/v1"
)

// Service is the suite's ConformanceService as its server-mode documentation
// (docs/testing_servers.md of the suite) describes it: each call answers
// as its first request's response definition says (headers, data, an
// error, trailers, a delay) and echoes what the server saw of the call
// (request headers, the timeout, the requests). Unimplemented is left
// unimplemented, as the suite wants, and so is IdempotentUnary, which only
// the Connect protocol calls.
type Service struct {
	conformancev1.UnimplementedConformanceServiceServer
}

// Unary answers with the payload or the error its request defines.
func (Service) Unary(ctx context.Context, req *conformancev1.UnaryRequest) (*conformancev1.UnaryResponse, error) {
	reqs, err := anys(req)
	if err != nil {
		return nil, err
	}
	def := req.GetResponseDefinition()
	if def != nil {
		if err := grpc.SetHeader(ctx, toMD(def.GetResponseHeaders())); err != nil {
			return nil, err
		}
		if err := grpc.SetTrailer(ctx, toMD(def.GetResponseTrailers())); err != nil {
			return nil, err
		}
	}
	p, err := unaryAnswer(ctx, def, reqs)
	if err != nil {
		return nil, err
	}
	return &conformancev1.UnaryResponse{Payload: p}, nil
}

// ClientStream reads every request, then answers as Unary does, as the
// first request defines, echoing all of them.
func (Service) ClientStream(stream grpc.ClientStreamingServer[conformancev1.ClientStreamRequest, conformancev1.ClientStreamResponse]) error {
	var def *conformancev1.UnaryResponseDefinition
	var reqs []*anypb.Any
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if reqs == nil {
			def = req.GetResponseDefinition()
		}
		a, err := anys(req)
		if err != nil {
			return err
		}
		reqs = append(reqs, a...)
	}
	if def != nil {
		if err := stream.SetHeader(toMD(def.GetResponseHeaders())); err != nil {
			return err
		}
		stream.SetTrailer(toMD(def.GetResponseTrailers()))
	}
	p, err := unaryAnswer(stream.Context(), def, reqs)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&conformancev1.ClientStreamResponse{Payload: p})
}

// ServerStream sends its headers at once, then each response the request
// defines, a delay before each, then the error it defines, if any.
func (Service) ServerStream(req *conformancev1.ServerStreamRequest, stream grpc.ServerStreamingServer[conformancev1.ServerStreamResponse]) error {
	ctx := stream.Context()
	reqs, err := anys(req)
	if err != nil {
		return err
	}
	def := req.GetResponseDefinition()
	if def != nil {
		if err := stream.SendHeader(toMD(def.GetResponseHeaders())); err != nil {
			return err
		}
		stream.SetTrailer(toMD(def.GetResponseTrailers()))
	}
	sent := 0
	for _, data := range def.GetResponseData() {
		p := &conformancev1.ConformancePayload{Data: data}
		if sent == 0 {
			p.RequestInfo = requestInfo(ctx, reqs)
		}
		if err := sleep(ctx, def.GetResponseDelayMs()); err != nil {
			return err
		}
		if err := stream.Send(&conformancev1.ServerStreamResponse{Payload: p}); err != nil {
			return err
		}
		sent++
	}
	if e := def.GetError(); e != nil {
		var info *conformancev1.ConformancePayload_RequestInfo
		if sent == 0 {
			info = requestInfo(ctx, reqs)
		}
		return statusError(e, info)
	}
	return nil
}

// BidiStream answers as the first request defines. Full duplex: a
// response for each request, as it arrives, until the defined responses
// run out; half duplex: every response once the client has finished
// sending. Then the defined error, if any.
func (Service) BidiStream(stream grpc.BidiStreamingServer[conformancev1.BidiStreamRequest, conformancev1.BidiStreamResponse]) error {
	ctx := stream.Context()
	var (
		def      *conformancev1.StreamResponseDefinition
		full     bool
		received bool
		reqs     []*anypb.Any // since the last response
		sent     int
	)
	send := func() error {
		p := &conformancev1.ConformancePayload{Data: def.GetResponseData()[sent]}
		switch {
		case sent == 0:
			p.RequestInfo = requestInfo(ctx, reqs)
		case len(reqs) > 0:
			p.RequestInfo = &conformancev1.ConformancePayload_RequestInfo{Requests: reqs}
		}
		if err := sleep(ctx, def.GetResponseDelayMs()); err != nil {
			return err
		}
		if err := stream.Send(&conformancev1.BidiStreamResponse{Payload: p}); err != nil {
			return err
		}
		sent++
		reqs = nil
		return nil
	}
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		a, err := anys(req)
		if err != nil {
			return err
		}
		reqs = append(reqs, a...)
		if !received {
			received = true
			def, full = req.GetResponseDefinition(), req.GetFullDuplex()
			if def != nil {
				hdr := toMD(def.GetResponseHeaders())
				if full {
					err = stream.SendHeader(hdr)
				} else {
					// Half duplex writes nothing before the client has
					// finished sending.
					err = stream.SetHeader(hdr)
				}
				if err != nil {
					return err
				}
				stream.SetTrailer(toMD(def.GetResponseTrailers()))
			}
		}
		if !full {
			continue
		}
		if sent == len(def.GetResponseData()) {
			break // nothing left to answer with: the error, if any, ends the call
		}
		if err := send(); err != nil {
			return err
		}
	}
	for sent < len(def.GetResponseData()) {
		if err := send(); err != nil {
			return err
		}
	}
	if e := def.GetError(); e != nil {
		var info *conformancev1.ConformancePayload_RequestInfo
		if sent == 0 {
			info = requestInfo(ctx, reqs)
		}
		return statusError(e, info)
	}
	return nil
}

// unaryAnswer waits the defined delay, then returns the defined error, or
// the payload: the defined data and what the call received.
func unaryAnswer(ctx context.Context, def *conformancev1.UnaryResponseDefinition, reqs []*anypb.Any) (*conformancev1.ConformancePayload, error) {
	info := requestInfo(ctx, reqs)
	if err := sleep(ctx, def.GetResponseDelayMs()); err != nil {
		return nil, err
	}
	if e := def.GetError(); e != nil {
		return nil, statusError(e, info)
	}
	return &conformancev1.ConformancePayload{Data: def.GetResponseData(), RequestInfo: info}, nil
}

// requestInfo is what the call received: its request headers, the time
// left before its deadline, and reqs.
func requestInfo(ctx context.Context, reqs []*anypb.Any) *conformancev1.ConformancePayload_RequestInfo {
	md, _ := metadata.FromIncomingContext(ctx)
	info := &conformancev1.ConformancePayload_RequestInfo{RequestHeaders: toHeaders(md), Requests: reqs}
	if d, ok := ctx.Deadline(); ok {
		info.TimeoutMs = proto.Int64(max(time.Until(d), 0).Milliseconds())
	}
	return info
}

// statusError is the status e defines, info (when not nil) added to its
// details.
func statusError(e *conformancev1.Error, info *conformancev1.ConformancePayload_RequestInfo) error {
	details := append([]*anypb.Any(nil), e.GetDetails()...)
	if info != nil {
		a, err := anypb.New(info)
		if err != nil {
			return status.Errorf(codes.Internal, "conformance: request info as Any: %v", err)
		}
		details = append(details, a)
	}
	return status.FromProto(&spb.Status{Code: int32(e.GetCode()), Message: e.GetMessage(), Details: details}).Err()
}

// anys returns m as a one-element slice of Any, for a payload's requests.
func anys(m proto.Message) ([]*anypb.Any, error) {
	a, err := anypb.New(m)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "conformance: request as Any: %v", err)
	}
	return []*anypb.Any{a}, nil
}

// sleep waits ms milliseconds, or until ctx ends, then returns its status.
func sleep(ctx context.Context, ms uint32) error {
	if ms == 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}
