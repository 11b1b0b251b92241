package grpchttp

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// grpc-go's transport has no bound on how long a request message may take
// to arrive: a native client that sends a unary call's headers and then a
// byte now and then holds the call, its share of the server's calls and a
// stream of its connection for as long as it likes, where every other
// path ends such a call at the message timeout (WithMessageTimeout). The
// tap of ServerOptions gives each call a context that ends as
// DeadlineExceeded once its unary request has taken longer than that
// timeout plus the share of the largest message allowed (the transport
// does not say how long the message is); the first interceptor lifts the
// bound, since grpc-go reads a unary request before it runs the
// interceptors, and lifts it at once for a stream, whose waits between
// messages are never cut.

// arrivalKey is the context key under which an arrivalContext finds
// itself.
type arrivalKey struct{}

// arrivalContext is a call's context on grpc-go's transport: its parent's
// (the stream's), but for Done and Err, which also end when the bound
// passes before the request arrived. Its Deadline and values are the
// parent's.
type arrivalContext struct {
	context.Context
	done    chan struct{}
	timer   *time.Timer
	unwatch func() bool

	mu    sync.Mutex
	err   error
	funcs map[*func()]struct{} // AfterFunc's, run when it ends
}

// withArrivalBound returns parent bounded by d until arrived is called.
func withArrivalBound(parent context.Context, d time.Duration) *arrivalContext {
	c := &arrivalContext{Context: parent, done: make(chan struct{})}
	c.timer = time.AfterFunc(d, func() { c.end(context.DeadlineExceeded) })
	c.unwatch = context.AfterFunc(parent, func() { c.end(parent.Err()) })
	return c
}

// end closes Done with err, once.
func (c *arrivalContext) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	funcs := c.funcs
	c.funcs = nil
	close(c.done)
	c.mu.Unlock()
	c.timer.Stop()
	c.unwatch()
	for f := range funcs {
		go (*f)()
	}
}

// arrived lifts the bound: from now on the context ends with its parent.
func (c *arrivalContext) arrived() { c.timer.Stop() }

// Done implements context.Context.
func (c *arrivalContext) Done() <-chan struct{} { return c.done }

// Err implements context.Context.
func (c *arrivalContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value implements context.Context: the parent's values, and the context
// itself under arrivalKey.
func (c *arrivalContext) Value(key any) any {
	if key == (arrivalKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// AfterFunc lets contexts made from this one (context.WithCancel and the
// like) follow its end without a goroutine each, as they follow the
// context package's own.
func (c *arrivalContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	if c.funcs == nil {
		c.funcs = make(map[*func()]struct{})
	}
	key := &f
	c.funcs[key] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.funcs[key]
		delete(c.funcs, key)
		return ok
	}
}

// requestArrived lifts ctx's arrival bound, if it has one.
func requestArrived(ctx context.Context) {
	if c, ok := ctx.Value(arrivalKey{}).(*arrivalContext); ok {
		c.arrived()
	}
}

// arrivedUnary is the first unary interceptor on grpc-go's transport: the
// request is in.
func arrivedUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	requestArrived(ctx)
	return handler(ctx, req)
}

// arrivedStream is the first stream interceptor on grpc-go's transport: a
// stream's messages are not bounded here.
func arrivedStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	requestArrived(ss.Context())
	return handler(srv, ss)
}
