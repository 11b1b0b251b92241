package explorer

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
)

// GrpcurlTarget turns the page's location (location.protocol and
// location.host) into the host:port grpcurl dials, and whether the page
// came over TLS.
func GrpcurlTarget(protocol, host string) (target string, tls bool) {
	tls = protocol == "https:"
	if i := strings.LastIndexByte(host, ':'); i < 0 || i < strings.LastIndexByte(host, ']') {
		if tls {
			host += ":443"
		} else {
			host += ":80"
		}
	}
	return host, tls
}

// GrpcurlCommand returns a grpcurl command line that repeats a call
// natively: -plaintext unless tls, a -H per metadata value ("-bin" values
// in base64, as grpcurl takes them), -max-time for a deadline, -d with the
// request messages (JSON, compacted, one after another) and the method as
// grpcurl names it (pkg.Service/Method). Arguments are quoted for a POSIX
// shell.
func GrpcurlCommand(target string, tls bool, method string, requests []string, md metadata.MD, deadline time.Duration) string {
	args := []string{"grpcurl"}
	if !tls {
		args = append(args, "-plaintext")
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range md[k] {
			if strings.HasSuffix(k, "-bin") {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			args = append(args, "-H", shellQuote(k+": "+v))
		}
	}
	if deadline > 0 {
		args = append(args, "-max-time", strconv.FormatFloat(deadline.Seconds(), 'f', -1, 64))
	}
	msgs := make([]string, len(requests))
	for i, r := range requests {
		msgs[i] = compactJSON(r)
	}
	args = append(args, "-d", shellQuote(strings.Join(msgs, " ")), target, strings.TrimPrefix(method, "/"))
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell: in single quotes, each single
// quote in s closing the quotes, escaped with a backslash, and reopening
// them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
