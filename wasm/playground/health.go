//go:build js && wasm && !explorer

package main

import (
	"context"
	"syscall/js"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/wasm/client"
)

// healthEvery is how often the banner asks the server's grpc.health.v1:
// as often as a front checks its backend.
const healthEvery = 2 * time.Second

// The statuses of grpc.health.v1.HealthCheckResponse.
const (
	healthServing = 1
)

// watchHealth keeps the banner true to the server's health, checked every
// healthEvery while the page is visible: before a backend (-backend) the
// front's health answers for the backend, so the banner turns red while the
// backend is down, and green when it is back.
func (p *page) watchHealth() {
	for {
		time.Sleep(healthEvery)
		if js.Global().Get("document").Get("hidden").Bool() {
			continue // a tab nobody looks at makes no calls
		}
		p.checkHealth()
	}
}

// checkHealth asks grpc.health.v1.Health/Check once and shows the answer.
func (p *page) checkHealth() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// HealthCheckRequest{service: ""} encodes as no bytes at all, and the
	// reply's status (field 1) is read from its bytes: the page needs no
	// generated health code.
	st, err := p.health.NewStream(ctx, client.StreamDesc{}, "/grpc.health.v1.Health/Check")
	if err == nil {
		err = st.SendMsg(new(rawMessage))
	}
	reply := new(rawMessage)
	if err == nil {
		err = st.RecvMsg(reply)
	}
	switch code := grpcstatus.Code(err); {
	case code == codes.Unimplemented:
		p.up() // a server without health: it answered
	case err != nil:
		if p.backend != "" && code != codes.Unavailable {
			p.down("The front answers, but its health check failed: " + grpcstatus.Convert(err).Message())
			return
		}
		p.down(notAnswering)
	case healthStatus(*reply) == healthServing:
		p.up()
	case p.backend != "":
		p.down("The backend " + p.backend + " is down: the front cannot reach it (health NOT_SERVING). Calls fail until it is back.")
	default:
		p.down("The server says it is not serving (health NOT_SERVING): its store may be unreachable.")
	}
}

// rawMessage is a message the page writes and reads as its encoded bytes,
// through the client's DefaultCodec (client.VTMessage).
type rawMessage []byte

// SizeVT returns the encoding's length.
func (m *rawMessage) SizeVT() int { return len(*m) }

// MarshalToSizedBufferVT copies the encoding into b, of SizeVT bytes.
func (m *rawMessage) MarshalToSizedBufferVT(b []byte) (int, error) { return copy(b, *m), nil }

// UnmarshalVT keeps a copy of b.
func (m *rawMessage) UnmarshalVT(b []byte) error {
	*m = append((*m)[:0], b...)
	return nil
}

// healthStatus reads field 1 (status) of an encoded HealthCheckResponse.
func healthStatus(b []byte) int {
	status := 0
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0
			}
			status = int(v)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return 0
		}
		b = b[m:]
	}
	return status
}
