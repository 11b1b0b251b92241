package server

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
)

// storeHealthEvery is how often the server pings a store that has a
// database to lose (store.Pinger).
const storeHealthEvery = 2 * time.Second

// watchStoreHealth pings st every interval until ctx ends, when st is a
// store.Pinger, and calls set with whether the database answered: once for
// the first ping, then on every change, each change logged (warn when the
// database is lost, info when it is back). A store without a database to
// lose (the bbolt file) is never pinged: watchStoreHealth returns at once.
func watchStoreHealth(ctx context.Context, st store.Store, every time.Duration, set func(serving bool), log *slog.Logger) {
	p, ok := st.(store.Pinger)
	if !ok {
		return
	}
	first, last := true, false
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := p.Ping(ctx)
		if ctx.Err() != nil {
			return
		}
		serving := err == nil
		if first || serving != last {
			switch {
			case !serving:
				log.Warn("store unreachable: reporting NOT_SERVING", "err", err)
			case !first:
				log.Info("store reachable again: reporting SERVING")
			}
			set(serving)
			first, last = false, serving
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// healthReporter returns a set function for watchStoreHealth that reports
// to h, for the server as a whole ("") and for UserManager.
func healthReporter(h *health.Server) func(serving bool) {
	return func(serving bool) {
		status := healthpb.HealthCheckResponse_NOT_SERVING
		if serving {
			status = healthpb.HealthCheckResponse_SERVING
		}
		h.SetServingStatus("", status)
		h.SetServingStatus(pb.UserManager_ServiceDesc.ServiceName, status)
	}
}

// startStoreHealth watches st in the background, reporting to h, until the
// returned stop is called; stop waits for the watcher to end. After
// h.Shutdown, h ignores the watcher's reports, so the order of stop and
// Shutdown does not matter.
func startStoreHealth(st store.Store, h *health.Server, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchStoreHealth(ctx, st, storeHealthEvery, healthReporter(h), log)
	}()
	return func() {
		cancel()
		<-done
	}
}
