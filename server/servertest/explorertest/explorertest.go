//go:build !js

// Package explorertest starts the servers the explorer is tested against:
// the playground's own (UserManager, health, reflection v1 and v1alpha), one
// that offers only v1alpha reflection, and one whose reflection lacks a
// file. Each counts the calls it runs, so a test can check that the page
// sent nothing. The explorer's Go tests and the Chromium tests of the page
// share them.
package explorertest

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// Calls counts the calls a server ran, by full method name, whatever
// protocol carried them.
type Calls struct {
	mu     sync.Mutex
	n      map[string]int
	header map[string]metadata.MD // the last call's request metadata, by method
}

// Count returns how many calls of method ("/UserManager/GetUser") started.
func (c *Calls) Count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

// Total returns how many calls started, reflection's and health checks
// left out (the page's banner checks health every 2 seconds).
func (c *Calls) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for m, k := range c.n {
		if !isReflection(m) && m != "/grpc.health.v1.Health/Check" {
			n += k
		}
	}
	return n
}

// Header returns the value of a request header in the last call of method.
func (c *Calls) Header(method, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.header[method].Get(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

func isReflection(method string) bool {
	return method == "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo" ||
		method == "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
}

func (c *Calls) add(ctx context.Context, method string) {
	md, _ := metadata.FromIncomingContext(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n, c.header = make(map[string]int), make(map[string]metadata.MD)
	}
	c.n[method]++
	c.header[method] = md
}

// config adds the counting interceptors to cfg.
func (c *Calls) config(cfg server.Config) server.Config {
	cfg.UnaryInterceptors = append(cfg.UnaryInterceptors, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		c.add(ctx, info.FullMethod)
		return h(ctx, req)
	})
	cfg.StreamInterceptors = append(cfg.StreamInterceptors, func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		c.add(ss.Context(), info.FullMethod)
		return h(srv, ss)
	})
	return cfg
}

// Server is a started test server and the calls it counts.
type Server struct {
	*servertest.Server
	Calls *Calls
}

// Start serves the playground's own services, reflection v1 and v1alpha
// among them, until the test ends.
func Start(t testing.TB, opts ...servertest.Option) *Server {
	t.Helper()
	calls := new(Calls)
	return &Server{servertest.Start(t, calls.config(server.Config{}), opts...), calls}
}

// StartV1alphaOnly serves the playground's own services with reflection
// v1alpha only, as older servers do: a v1 reflection call gets
// Unimplemented.
func StartV1alphaOnly(t testing.TB, opts ...servertest.Option) *Server {
	t.Helper()
	calls := new(Calls)
	refl := reflection.NewServer(reflection.ServerOptions{Services: listed{
		"UserManager", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
	}})
	opts = append(opts, servertest.WithService(&v1alphagrpc.ServerReflection_ServiceDesc, refl))
	return &Server{servertest.Start(t, calls.config(server.Config{NoReflection: true}), opts...), calls}
}

// StartWithoutReflection serves the playground's own services without
// server reflection.
func StartWithoutReflection(t testing.TB, opts ...servertest.Option) *Server {
	t.Helper()
	calls := new(Calls)
	return &Server{servertest.Start(t, calls.config(server.Config{NoReflection: true}), opts...), calls}
}

// listed is a reflection.ServiceInfoProvider that lists fixed service names.
type listed []string

func (l listed) GetServiceInfo() map[string]grpc.ServiceInfo {
	m := make(map[string]grpc.ServiceInfo, len(l))
	for _, name := range l {
		m[name] = grpc.ServiceInfo{}
	}
	return m
}
