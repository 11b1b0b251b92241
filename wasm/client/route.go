package client

import "errors"

// A call takes one of three transports:
//
//   - the Conn's multiplexed socket (grpc-mux.v1, mux*.go), shared by
//     every call on it;
//   - a grpc-websockets socket of its own (openSocket), for a client or
//     bidi stream when the server offers no multiplexed socket;
//   - gRPC-Web over HTTP (post), for unary and server-streaming calls.
//
// open chooses, by the Conn's Multiplexing and the call's kind, and under
// MultiplexAuto by whether the socket is open yet.

// open starts the call on its transport. A gRPC-Web call starts later,
// when its response is first wanted.
func (s *Stream) open() error {
	c := s.c
	socket := s.desc.ClientStreams || c.opts.wsForAll
	mux := false
	switch c.opts.multiplex {
	case MultiplexAlways:
		mux = true
	case MultiplexAuto:
		mux = socket
		if !socket && c.muxAll {
			// A unary call does not wait for the socket's handshake: on
			// a page that has just loaded, its first call would otherwise
			// wait for a WebSocket to open (or be refused) before its
			// fetch. It goes as gRPC-Web, and the socket opens once it is
			// over (end), not while the page's one thread handles its
			// response; the calls after take it.
			if mc := c.mux.ready(); mc != nil {
				return s.openMuxOn(mc)
			}
			if s.desc.ServerStreams {
				// A server stream may stay open for long: over fetch it
				// would hold one of the browser's six connections to the
				// host for its life, and a seventh would stall. It waits
				// for the socket (and goes as gRPC-Web if declined).
				mux = true
			} else {
				s.prepareMux = true
			}
		}
	}
	if mux {
		err := s.openMux(c.opts.multiplex == MultiplexAlways)
		if !errors.Is(err, errMuxDeclined) {
			return err
		}
	}
	if socket {
		return s.openSocket()
	}
	return nil
}

// requestSender puts a call's requests on its socket: a
// grpcwire.BatchWriter for a grpc-websockets socket, a muxStream for the
// multiplexed one.
type requestSender interface {
	// Add appends what fill appends as the next requests; an error other
	// than fill's means the call is over.
	Add(fill func([]byte) ([]byte, error)) error
	// Finish sends final (the protocol's half-close) after what was added.
	Finish(final []byte)
	// Stop ends sending without writing anything more.
	Stop()
}

// eventSource reads a call's response one event at a time: a parser of a
// response body, or a muxStream. Its errors are as parser.next's.
type eventSource interface {
	next() (event, error)
}
