package grpchttp

import (
	"context"
	"net"
	"net/http"
	"sync"

	"google.golang.org/grpc/stats"
)

// connStats gives the stats handlers the connection events grpc-go's
// transport gives them (TagConn, ConnBegin, ConnEnd) for the connections
// of an http.Server set up by ConfigureServer: every call's context derives
// from its connection's tagged one, as on grpc-go's transport. A WebSocket
// stream's connection ends when the stream does (the bridge reports it).
type connStats struct {
	hs []stats.Handler

	mu    sync.Mutex
	conns map[net.Conn]context.Context
}

func newConnStats(hs []stats.Handler) *connStats {
	return &connStats{hs: hs, conns: make(map[net.Conn]context.Context)}
}

// configure hooks s's ConnContext and ConnState, after s's own.
func (cs *connStats) configure(s *http.Server) {
	if len(cs.hs) == 0 {
		return
	}
	connContext, connState := s.ConnContext, s.ConnState
	s.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if connContext != nil {
			ctx = connContext(ctx, c)
		}
		return cs.begin(ctx, c)
	}
	s.ConnState = func(c net.Conn, st http.ConnState) {
		if connState != nil {
			connState(c, st)
		}
		switch st {
		case http.StateClosed:
			cs.end(c)
		case http.StateHijacked:
			cs.mu.Lock()
			delete(cs.conns, c) // the bridge reports its end
			cs.mu.Unlock()
		}
	}
}

// begin tags a new connection's context and reports its beginning.
func (cs *connStats) begin(ctx context.Context, c net.Conn) context.Context {
	for _, h := range cs.hs {
		ctx = h.TagConn(ctx, &stats.ConnTagInfo{RemoteAddr: c.RemoteAddr(), LocalAddr: c.LocalAddr()})
	}
	for _, h := range cs.hs {
		h.HandleConn(ctx, &stats.ConnBegin{})
	}
	cs.mu.Lock()
	cs.conns[c] = ctx
	cs.mu.Unlock()
	return context.WithValue(ctx, connTaggedKey{}, cs)
}

// connTaggedKey marks the contexts of connections begin tagged.
type connTaggedKey struct{}

// hijackedEnd reports the end of a hijacked connection (a WebSocket
// stream's), given a context of one of its requests, if begin tagged it.
func (cs *connStats) hijackedEnd(ctx context.Context) {
	if ctx.Value(connTaggedKey{}) == cs {
		cs.report(ctx)
	}
}

// end reports the end of a connection begin tagged.
func (cs *connStats) end(c net.Conn) {
	cs.mu.Lock()
	ctx, ok := cs.conns[c]
	delete(cs.conns, c)
	cs.mu.Unlock()
	if ok {
		cs.report(ctx)
	}
}

// report hands ConnEnd to the handlers, for the connection of ctx.
func (cs *connStats) report(ctx context.Context) {
	for _, h := range cs.hs {
		h.HandleConn(ctx, &stats.ConnEnd{})
	}
}
