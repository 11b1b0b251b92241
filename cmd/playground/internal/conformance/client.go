package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	conformancev1 "github.com/grpcplay/playground/pb/conformance/v1"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/grpcconn"
)

// clientParallel is how many of the runner's cases the client under test
// calls at once.
const clientParallel = 8

// runClient is the client under test: it reads the runner's cases from in
// until in ends, makes each call with the suite's generated stubs on a
// grpcconn.Conn (so through package client), clientParallel at a time, and
// writes each outcome to out.
func runClient(ctx context.Context, in io.Reader, out io.Writer) error {
	conns := &connCache{conns: make(map[connKey]*grpcconn.Conn)}
	defer conns.close()
	var (
		wg       sync.WaitGroup
		outMu    sync.Mutex
		writeErr error
		slots    = make(chan struct{}, clientParallel)
	)
	defer wg.Wait()
	for {
		req := new(conformancev1.ClientCompatRequest)
		if err := readMessage(in, req); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("read a case: %w", err)
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			resp := &conformancev1.ClientCompatResponse{TestName: req.GetTestName()}
			if res, err := invoke(ctx, conns, req); err != nil {
				resp.Result = &conformancev1.ClientCompatResponse_Error{Error: &conformancev1.ClientErrorResult{Message: err.Error()}}
			} else {
				resp.Result = &conformancev1.ClientCompatResponse_Response{Response: res}
			}
			outMu.Lock()
			defer outMu.Unlock()
			if writeErr == nil {
				writeErr = writeMessage(out, resp)
			}
		})
	}
	wg.Wait()
	return writeErr
}

// invoke makes the call req describes. Its error says the client could not
// make the call as asked; the call's own outcome, a status error included,
// is the result.
func invoke(ctx context.Context, conns *connCache, req *conformancev1.ClientCompatRequest) (*conformancev1.ClientResponseResult, error) {
	if p := req.GetProtocol(); p != conformancev1.Protocol_PROTOCOL_GRPC_WEB {
		return nil, fmt.Errorf("protocol %v: this client speaks gRPC-Web", p)
	}
	if c := req.GetCodec(); c != conformancev1.Codec_CODEC_PROTO {
		return nil, fmt.Errorf("codec %v: this client sends protobuf", c)
	}
	if s := req.GetService(); s != "" && s != conformancev1.ConformanceService_ServiceDesc.ServiceName {
		return nil, fmt.Errorf("service %q: not the conformance service", s)
	}
	if req.GetRawRequest() != nil {
		return nil, errors.New("raw requests are for the reference client")
	}
	conn, err := conns.get(req)
	if err != nil {
		return nil, err
	}
	stub := conformancev1.NewConformanceServiceClient(conn)
	opts, err := callOptions(req)
	if err != nil {
		return nil, err
	}
	if req.TimeoutMs != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.GetTimeoutMs())*time.Millisecond)
		defer cancel()
	}
	ctx = metadata.NewOutgoingContext(ctx, toMD(req.GetRequestHeaders()))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if n := len(req.GetRequestMessages()); n != 1 {
		return nil, fmt.Errorf("%d request messages: this client makes unary and server-streaming calls, of one", n)
	}
	cancelAfterSend, cancelAfterResponses := cancelTiming(req.GetCancel())

	switch req.GetMethod() {
	case "Unary":
		r := new(conformancev1.UnaryRequest)
		return unary(ctx, req, r, cancel, cancelAfterSend, func(ctx context.Context, opts ...grpc.CallOption) (*conformancev1.ConformancePayload, error) {
			resp, err := stub.Unary(ctx, r, opts...)
			return resp.GetPayload(), err
		}, opts)
	case "Unimplemented":
		r := new(conformancev1.UnimplementedRequest)
		return unary(ctx, req, r, cancel, cancelAfterSend, func(ctx context.Context, opts ...grpc.CallOption) (*conformancev1.ConformancePayload, error) {
			_, err := stub.Unimplemented(ctx, r, opts...)
			return nil, err
		}, opts)
	case "ServerStream":
		r := new(conformancev1.ServerStreamRequest)
		if err := req.GetRequestMessages()[0].UnmarshalTo(r); err != nil {
			return nil, fmt.Errorf("request message: %w", err)
		}
		res := new(conformancev1.ClientResponseResult)
		stream, err := stub.ServerStream(ctx, r, opts...)
		if err != nil {
			res.Error = protoError(err)
			return res, nil
		}
		if cancelAfterSend >= 0 {
			time.Sleep(cancelAfterSend)
			cancel()
		}
		hdr, _ := stream.Header() // nil without headers: Recv returns the status
		for {
			m, err := stream.Recv()
			if err != nil {
				if err != io.EOF {
					res.Error = protoError(err)
				}
				break
			}
			res.Payloads = append(res.Payloads, m.GetPayload())
			if len(res.Payloads) == cancelAfterResponses {
				cancel()
			}
		}
		res.ResponseHeaders, res.ResponseTrailers = toHeaders(hdr), toHeaders(stream.Trailer())
		return res, nil
	}
	return nil, fmt.Errorf("method %q: this client makes unary and server-streaming calls (client and bidi streams go over the WebSocket bridge, which the suite's servers do not speak)", req.GetMethod())
}

// unary makes a unary call through call, which returns the response's
// payload, with r, req's one message, cancelling it cancelAfter after it
// started when that is not negative.
func unary(ctx context.Context, req *conformancev1.ClientCompatRequest, r proto.Message, cancel context.CancelFunc, cancelAfter time.Duration,
	call func(context.Context, ...grpc.CallOption) (*conformancev1.ConformancePayload, error), opts []grpc.CallOption) (*conformancev1.ClientResponseResult, error) {
	if err := req.GetRequestMessages()[0].UnmarshalTo(r); err != nil {
		return nil, fmt.Errorf("request message: %w", err)
	}
	if cancelAfter >= 0 {
		t := time.AfterFunc(cancelAfter, cancel)
		defer t.Stop()
	}
	var hdr, trl metadata.MD
	p, err := call(ctx, append(opts, grpc.Header(&hdr), grpc.Trailer(&trl))...)
	res := &conformancev1.ClientResponseResult{ResponseHeaders: toHeaders(hdr), ResponseTrailers: toHeaders(trl)}
	if err != nil {
		res.Error = protoError(err)
	} else {
		res.Payloads = []*conformancev1.ConformancePayload{p}
	}
	return res, nil
}

// cancelTiming returns when req's cancellation wants the call cancelled:
// this long after its request was sent, or after this many responses; -1
// for neither. A Cancel without a timing means right after sending.
func cancelTiming(c *conformancev1.ClientCompatRequest_Cancel) (afterSend time.Duration, afterResponses int) {
	afterSend, afterResponses = -1, -1
	switch t := c.GetCancelTiming().(type) {
	case *conformancev1.ClientCompatRequest_Cancel_AfterCloseSendMs:
		afterSend = time.Duration(t.AfterCloseSendMs) * time.Millisecond
	case *conformancev1.ClientCompatRequest_Cancel_AfterNumResponses:
		afterResponses = int(t.AfterNumResponses)
	case nil:
		if c != nil {
			afterSend = 0
		}
	}
	return afterSend, afterResponses
}

// callOptions are the grpc.CallOptions req asks for: its receive limit and
// compression.
func callOptions(req *conformancev1.ClientCompatRequest) ([]grpc.CallOption, error) {
	var opts []grpc.CallOption
	if n := req.GetMessageReceiveLimit(); n > 0 {
		opts = append(opts, grpc.MaxCallRecvMsgSize(int(n)))
	}
	switch c := req.GetCompression(); c {
	case conformancev1.Compression_COMPRESSION_UNSPECIFIED, conformancev1.Compression_COMPRESSION_IDENTITY:
	case conformancev1.Compression_COMPRESSION_GZIP:
		opts = append(opts, grpc.UseCompressor(client.Gzip))
	default:
		return nil, fmt.Errorf("compression %v: not supported by this client", c)
	}
	return opts, nil
}

// protoError is err's status as the suite's Error.
func protoError(err error) *conformancev1.Error {
	st := status.Convert(err)
	return &conformancev1.Error{
		Code:    conformancev1.Code(st.Code()),
		Message: proto.String(st.Message()),
		Details: st.Proto().GetDetails(),
	}
}

// connKey is what a connection depends on: the server, its certificate,
// the HTTP version and the client's certificate.
type connKey struct {
	host       string
	port       uint32
	version    conformancev1.HTTPVersion
	serverCert string
	clientCert string
	clientKey  string
}

// connCache keeps a grpcconn.Conn for each connKey, so that the cases of
// one server share connections, as an application's calls do.
type connCache struct {
	mu    sync.Mutex
	conns map[connKey]*grpcconn.Conn
}

func (c *connCache) get(req *conformancev1.ClientCompatRequest) (*grpcconn.Conn, error) {
	k := connKey{
		host:       req.GetHost(),
		port:       req.GetPort(),
		version:    req.GetHttpVersion(),
		serverCert: string(req.GetServerTlsCert()),
		clientCert: string(req.GetClientTlsCreds().GetCert()),
		clientKey:  string(req.GetClientTlsCreds().GetKey()),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[k]; ok {
		return conn, nil
	}
	hc, err := httpClient(k)
	if err != nil {
		return nil, err
	}
	scheme := "http://"
	if k.serverCert != "" {
		scheme = "https://"
	}
	// The suite checks gRPC-Web: every call takes it, never the
	// multiplexed socket, which the suite's servers do not speak.
	conn, err := grpcconn.Dial(scheme+net.JoinHostPort(k.host, strconv.Itoa(int(k.port))), client.WithHTTPClient(hc), client.WithMultiplexing(client.MultiplexNever))
	if err != nil {
		return nil, err
	}
	c.conns[k] = conn
	return conn, nil
}

func (c *connCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
}

// httpClient is an HTTP client for k: HTTP/1.1, or HTTP/2 (h2c without
// TLS); trusting only the server's certificate, and presenting the
// client's when there is one.
func httpClient(k connKey) (*http.Client, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: clientParallel,
		// The runner stops each reference server once its cases are done;
		// a connection kept open would hold its graceful stop for seconds.
		IdleConnTimeout: time.Second,
		Protocols:       new(http.Protocols),
	}
	useTLS := k.serverCert != ""
	switch k.version {
	case conformancev1.HTTPVersion_HTTP_VERSION_1:
		tr.Protocols.SetHTTP1(true)
	case conformancev1.HTTPVersion_HTTP_VERSION_2:
		if useTLS {
			tr.Protocols.SetHTTP2(true)
		} else {
			tr.Protocols.SetUnencryptedHTTP2(true)
		}
	default:
		return nil, fmt.Errorf("HTTP version %v: not supported by this client", k.version)
	}
	if useTLS {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(k.serverCert)) {
			return nil, errors.New("the server's certificate is not PEM")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if k.clientCert != "" {
			cert, err := tls.X509KeyPair([]byte(k.clientCert), []byte(k.clientKey))
			if err != nil {
				return nil, fmt.Errorf("the client's certificate: %w", err)
			}
			tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
		}
	}
	return &http.Client{Transport: tr}, nil
}
