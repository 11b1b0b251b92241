package server

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// originPolicy decides who may call, on every HTTP request: which Host
// names a request may carry (so that a page on another name that resolves
// to us, DNS rebinding, gets nothing), and which browser origins may call
// the API: the page's own always, others only when listed.
type originPolicy struct {
	listed map[string]bool // -allowed-origins, lower case, no trailing slash
	hosts  map[string]bool // -allowed-hosts, lower case, no port
	// loopbackOnly: no -allowed-hosts and the server listens on a loopback
	// address, so only loopback names may reach it. Set by Serve.
	loopbackOnly bool
}

func newOriginPolicy(origins, hosts []string) *originPolicy {
	p := &originPolicy{listed: make(map[string]bool), hosts: make(map[string]bool)}
	for _, o := range origins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			p.listed[strings.ToLower(o)] = true
		}
	}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if name, _, err := net.SplitHostPort(h); err == nil {
			h = name
		}
		if h = strings.Trim(h, "[]"); h != "" {
			p.hosts[h] = true
		}
	}
	return p
}

// listen tells the policy the address the server listens on: with no
// allowed hosts and a loopback address, only loopback names are allowed.
func (p *originPolicy) listen(addr net.Addr) {
	if len(p.hosts) > 0 {
		return
	}
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		p.loopbackOnly = true
	}
}

// allowsHost reports whether a request's Host may reach the server.
func (p *originPolicy) allowsHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.ToLower(strings.Trim(name, "[]"))
	switch {
	case len(p.hosts) > 0:
		return p.hosts[name]
	case p.loopbackOnly:
		if name == "localhost" {
			return true
		}
		ip := net.ParseIP(name)
		return ip != nil && ip.IsLoopback()
	}
	return true
}

// isListed reports whether origin was named in -allowed-origins.
func (p *originPolicy) isListed(origin string) bool { return p.listed[strings.ToLower(origin)] }

// allows reports whether a request may proceed: no Origin header (not a
// browser), the server's own origin, or a listed one. "null" (a sandboxed
// frame, a file: page) is nobody's and never allowed.
func (p *originPolicy) allows(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	return p.isListed(origin) || sameOrigin(origin, r)
}

// sameOrigin reports whether origin is the server's own, as the request
// reached it.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
}

// cors answers CORS for the gRPC calls of listed origins: their preflight,
// and the response headers that let a page read replies, statuses and
// metadata. The page's own origin needs none of it.
func (p *originPolicy) cors(next http.Handler) http.Handler {
	return cors.New(cors.Options{
		AllowOriginFunc: p.isListed,
		AllowedMethods:  []string{http.MethodPost},
		AllowedHeaders:  []string{"*"},
		ExposedHeaders:  []string{grpcwire.HeaderStatus, grpcwire.HeaderMessage, grpcwire.HeaderStatusDetails, "*"},
		MaxAge:          600,
	}).Handler(next)
}

// refuseOrigin answers a gRPC call from an origin that may not call, before
// it runs: 403, with the status in gRPC's headers for clients that read
// those.
func refuseOrigin(w http.ResponseWriter, r *http.Request) {
	md := metadata.MD{}
	grpcwire.AppendStatus(md, status.Newf(codes.PermissionDenied, "origin %q may not call this server: it is neither the page's own nor listed in -allowed-origins", r.Header.Get("Origin")))
	h := w.Header()
	setHeaderMD(h, "", md)
	http.Error(w, "forbidden origin", http.StatusForbidden)
}
