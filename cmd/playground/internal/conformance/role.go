package conformance

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// RoleEnv, in a test binary's environment, names the program under test it
// is to be instead of running its tests; RunRole reads it. Suite.Run sets
// it for the runner, which passes it on to the processes it starts.
const RoleEnv = "PLAYGROUND_CONFORMANCE_ROLE"

// The roles: the program under test of each run.
const (
	// RoleFront is the server under test of the front: the built
	// playground with -backend before the suite's grpc-go reference server.
	// Its environment names both binaries (PlaygroundEnv, backendEnv).
	RoleFront = "front"
	// RoleServer is the server under test of our own server: server.New
	// serving Service.
	RoleServer = "server"
	// RoleClient is the client under test: our Go client, through grpcconn.
	RoleClient = "client"
)

// PlaygroundEnv names the built playground binary the front role starts.
const PlaygroundEnv = "PLAYGROUND_CONFORMANCE_PLAYGROUND"

// backendEnv names the suite's grpc-go reference server, which the front
// role starts behind the playground; Suite.Run sets it.
const backendEnv = "PLAYGROUND_CONFORMANCE_BACKEND"

// RunRole, when RoleEnv names a role, plays it over standard input and
// output until the runner is done with it (SIGTERM, or the end of its
// cases) and exits the process. Otherwise it returns at once. A test
// binary's TestMain calls it first.
func RunRole() {
	role := os.Getenv(RoleEnv)
	if role == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	ctx = whileParentLives(ctx)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("role", role)
	var err error
	switch role {
	case RoleFront:
		err = serveFront(ctx, os.Stdin, os.Stdout, os.Stderr, os.Getenv(PlaygroundEnv), os.Getenv(backendEnv))
	case RoleServer:
		err = serveOwn(ctx, os.Stdin, os.Stdout, log)
	case RoleClient:
		err = runClient(ctx, os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// whileParentLives returns a context that ends with ctx or when the process
// that started this one is gone (its children are then handed to another
// parent), so that a killed runner leaves no program under test behind.
func whileParentLives(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	parent := os.Getppid()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != parent {
					cancel()
					return
				}
			}
		}
	}()
	return ctx
}
