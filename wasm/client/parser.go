package client

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// eventKind says what a parser event carries.
type eventKind int

const (
	// evHeaders: the response headers (grpc-websockets only; over HTTP
	// they come with the response).
	evHeaders eventKind = iota + 1
	// evMessage: one response message, serialized.
	evMessage
	// evTrailers: the trailers; nothing follows.
	evTrailers
)

// event is one step of a response.
type event struct {
	kind eventKind
	msg  []byte      // evMessage: valid until the next call to next
	md   metadata.MD // evHeaders, evTrailers
}

// parser reads a response body, a sequence of gRPC-Web frames, one event
// at a time, however the bytes were split on their way. Over gRPC-Web the
// body holds messages and a final trailer block; over grpc-websockets a
// header block comes first.
type parser struct {
	r           *grpcwire.Reader
	max         int
	dec         decompressor // its encoding: the response headers' grpc-encoding
	wantHeaders bool         // the next header block is the response headers
	done        bool         // trailers were read
}

func newParser(body io.Reader, maxSize int, headersInBody bool) *parser {
	return &parser{r: grpcwire.NewResponseReader(body, maxSize), max: maxSize, wantHeaders: headersInBody}
}

// errNoTrailers is what next returns when the body ends cleanly, between
// frames, before the trailers: the caller decides what that means (over
// HTTP, a trailers-only response carries its status in the headers).
var errNoTrailers = errors.New("response ended without trailers")

// next returns the next event. Its errors are errNoTrailers, a status error
// for a response that breaks the protocol (the frame reader's among them),
// or the body's own read error. After evTrailers it returns io.EOF.
func (p *parser) next() (event, error) {
	if p.done {
		return event{}, io.EOF
	}
	f, err := p.r.Next()
	switch {
	case err == io.EOF:
		return event{}, errNoTrailers
	case err != nil:
		return event{}, err
	}
	payload := f.Payload
	switch f.Flag &^ grpcwire.FlagTrailer {
	case grpcwire.FlagData:
	case grpcwire.FlagCompressed:
		if payload, err = p.dec.decompress(payload, p.max); err != nil {
			return event{}, err
		}
	default:
		return event{}, grpcstatus.Error(codes.Internal, fmt.Sprintf("response frame with unknown flags %#x", f.Flag))
	}
	if f.IsTrailer() {
		md, err := grpcwire.ParseHeaderBlock(payload)
		if err != nil {
			return event{}, grpcstatus.Error(codes.Internal, "malformed header block in response: "+err.Error())
		}
		if p.wantHeaders {
			p.wantHeaders = false
			if _, trailersOnly := md[grpcwire.HeaderStatus]; !trailersOnly {
				p.dec.encoding = grpcwire.First(md, grpcwire.HeaderEncoding)
				return event{kind: evHeaders, md: md}, nil
			}
		}
		p.done = true
		return event{kind: evTrailers, md: md}, nil
	}
	if p.wantHeaders {
		return event{}, grpcstatus.Error(codes.Internal, "response message before the response headers")
	}
	return event{kind: evMessage, msg: payload}, nil
}
