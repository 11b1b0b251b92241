package grpchttp

import (
	"context"
	"net"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Limits bounds the calls in flight, server-wide and per client address,
// whatever carries them: HTTP/2 streams of either transport, HTTP/1.1
// requests, WebSocket streams. A call over a bound is refused with
// ResourceExhausted before its handler runs. What a client that never
// reads can make the server hold grows with the calls it has in flight
// (each may have its handler's state and a bounded window of replies
// queued), so these bounds are the server-wide memory bound: give a
// Handler and a grpc.Server made with ServerOptions the same Limits
// (WithLimits) and a client cannot take twice its share by using both.
type Limits struct {
	max, perClient int

	mu      sync.Mutex
	n       int
	clients map[string]int // calls in flight by client address
	// refusedServer and refusedClient count the calls refused over each
	// bound.
	refusedServer, refusedClient uint64
}

// NewLimits returns Limits of at most maxCalls calls in flight, and
// perClient of one client address; zero or less picks DefaultMaxStreams
// and a sixteenth of maxCalls.
func NewLimits(maxCalls, perClient int) *Limits {
	if maxCalls <= 0 {
		maxCalls = DefaultMaxStreams
	}
	if perClient <= 0 {
		perClient = max(1, maxCalls/16)
	}
	return &Limits{max: maxCalls, perClient: perClient, clients: make(map[string]int)}
}

// acquire admits a call of client, or says which bound it crosses. release
// must be called once when the call has ended.
func (l *Limits) acquire(client string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.n >= l.max:
		l.refusedServer++
		return nil, status.Errorf(codes.ResourceExhausted, "the server has %d calls in flight, its limit", l.max)
	case l.clients[client] >= l.perClient:
		l.refusedClient++
		return nil, status.Errorf(codes.ResourceExhausted, "client %s has %d calls in flight, its share of the server's %d", client, l.perClient, l.max)
	}
	l.n++
	l.clients[client]++
	var once sync.Once
	return func() { once.Do(func() { l.release(client) }) }, nil
}

func (l *Limits) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.clients[client]--; l.clients[client] <= 0 {
		delete(l.clients, client)
	}
}

// InFlight returns the calls in flight, server-wide.
func (l *Limits) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Refused returns how many calls were refused so far over each bound:
// the server-wide one and a client's share, for metrics.
func (l *Limits) Refused() (server, perClient uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusedServer, l.refusedClient
}

// clientOf is the address a client's calls are counted under: the IP of
// addr ("host:port").
func clientOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// acquirePeer admits a call whose context carries its peer (grpc-go's).
func (l *Limits) acquirePeer(ctx context.Context) (func(), error) {
	client := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		client = clientOf(p.Addr.String())
	}
	return l.acquire(client)
}
