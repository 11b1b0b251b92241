package server

// PLACEHOLDER: replaced by the real grpc-websockets bridge (issue 3).

import (
	"context"
	"log/slog"
	"net/http"
)

type bridgeConfig struct {
	maxMsgSize int
	maxStreams int
	origin     originPolicy
}

type bridge struct{}

func newBridge(reg *registry, cfg bridgeConfig, log *slog.Logger) *bridge { return &bridge{} }

func (b *bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}

func (b *bridge) shutdown(ctx context.Context) {}
