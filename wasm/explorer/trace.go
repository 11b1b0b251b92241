package explorer

import (
	"encoding/hex"
	"errors"
	"io"
)

// TraceparentHeader is W3C Trace Context's request header, which the
// explorer sends as metadata to start a trace for a call.
const TraceparentHeader = "traceparent"

// NewTraceparent makes a fresh, sampled W3C traceparent (version 00) from
// random bytes read from r (crypto/rand's Reader), and returns it with its
// trace id: a server that traces calls (OpenTelemetry) continues that
// trace, so the id finds the call's spans.
func NewTraceparent(r io.Reader) (traceparent, traceID string, err error) {
	var b [24]byte // a 16-byte trace id, an 8-byte span id
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", "", errors.New("trace: no random bytes: " + err.Error())
		}
		// All zeros is an invalid id of either kind; draw again.
		if !allZero(b[:16]) && !allZero(b[16:]) {
			break
		}
	}
	traceID = hex.EncodeToString(b[:16])
	return "00-" + traceID + "-" + hex.EncodeToString(b[16:]) + "-01", traceID, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
