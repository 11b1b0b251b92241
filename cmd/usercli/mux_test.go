package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMuxTransport: -transport mux puts the call on the multiplexed
// socket and nothing else: against a server that does not offer it, or
// none at all, the call fails with Unavailable and says which. (Against
// the playground's server, which offers it, every call runs over it as
// over every transport: TestSubcommands and the others.)
func TestMuxTransport(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	for name, tc := range map[string]struct{ addr, says string }{
		"no grpc-mux.v1": {strings.TrimPrefix(plain.URL, "http://"), "grpc-mux.v1"},
		"nobody":         {closedAddr(t), "refused"},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := usercli(t, "-addr", tc.addr, "-transport", transportMux, "GetUser", "1")
			prefix := "usercli: GetUser: Unavailable: "
			if code != exitFail || stdout != "" || !strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, tc.says) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and a line starting %q that says %q", code, stdout, stderr, prefix, tc.says)
			}
		})
	}
}
