package grpcwire

import (
	"fmt"
	"strconv"
	"time"
)

// maxTimeoutDigits is the gRPC limit on grpc-timeout's value.
const maxTimeoutDigits = 8

var timeoutUnits = []struct {
	unit byte
	d    time.Duration
}{
	{'n', time.Nanosecond}, {'u', time.Microsecond}, {'m', time.Millisecond},
	{'S', time.Second}, {'M', time.Minute}, {'H', time.Hour},
}

// EncodeTimeout writes d as a grpc-timeout value: at most eight digits and a
// unit, rounded up so the server never sees a shorter deadline.
func EncodeTimeout(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	for _, u := range timeoutUnits {
		n := (d + u.d - 1) / u.d
		if n < 1e8 {
			return strconv.FormatInt(int64(n), 10) + string(u.unit)
		}
	}
	return "99999999H"
}

// DecodeTimeout parses a grpc-timeout value.
func DecodeTimeout(s string) (time.Duration, error) {
	if len(s) < 2 || len(s) > maxTimeoutDigits+1 {
		return 0, fmt.Errorf("grpc-timeout %q: malformed", truncate(s))
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("grpc-timeout %q: malformed", truncate(s))
	}
	for _, u := range timeoutUnits {
		if u.unit == s[len(s)-1] {
			if max := int64(time.Duration(1<<63-1) / u.d); int64(n) > max {
				return time.Duration(1<<63 - 1), nil
			}
			return time.Duration(n) * u.d, nil
		}
	}
	return 0, fmt.Errorf("grpc-timeout %q: unknown unit", truncate(s))
}
