package grpchttp

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// policy decides who may call, on every path and both transports (the
// Handler's, and grpc-go's through ServerOptions' tap): which host names a
// request may address, so that a page on another name that resolves to the
// server (DNS rebinding) gets nothing, and which browser origins may call:
// the page's own always, others only when listed.
type policy struct {
	listed        map[string]bool // allowed origins, lower case, no trailing slash
	hosts         map[string]bool // allowed host names, lower case, no port
	loopbackHosts bool            // no hosts listed: loopback names only
}

func newPolicy(o *options) *policy {
	p := &policy{listed: make(map[string]bool), hosts: make(map[string]bool), loopbackHosts: o.loopbackHosts}
	for _, origin := range o.origins {
		if origin = strings.TrimRight(strings.TrimSpace(origin), "/"); origin != "" {
			p.listed[strings.ToLower(origin)] = true
		}
	}
	for _, h := range o.hosts {
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

// allowsHost reports whether a request for host (host or host:port) may
// reach the server.
func (p *policy) allowsHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.ToLower(strings.Trim(name, "[]"))
	switch {
	case len(p.hosts) > 0:
		return p.hosts[name]
	case p.loopbackHosts:
		if name == "localhost" {
			return true
		}
		ip := net.ParseIP(name)
		return ip != nil && ip.IsLoopback()
	}
	return true
}

// isListed reports whether origin was allowed by WithAllowedOrigins.
func (p *policy) isListed(origin string) bool { return p.listed[strings.ToLower(origin)] }

// allowsOrigin reports whether a call with this Origin header, to host,
// may proceed: none (not a browser), the server's own origin, or a listed
// one. "null" (a sandboxed frame, a file: page) is nobody's and never
// allowed.
func (p *policy) allowsOrigin(origin, host string) bool {
	if origin == "" {
		return true
	}
	return p.isListed(origin) || sameOrigin(origin, host)
}

// allows reports whether an HTTP request's origin may call.
func (p *policy) allows(r *http.Request) bool {
	return p.allowsOrigin(r.Header.Get("Origin"), r.Host)
}

// sameOrigin reports whether origin is the server's own, as a request for
// host reached it.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, host)
}

// check is the policy's answer to a call for host with origin: nil, or the
// PermissionDenied status the call is refused with, on every transport.
func (p *policy) check(host, origin string) *status.Status {
	if !p.allowsHost(host) {
		return status.Newf(codes.PermissionDenied, "this server does not answer to host %q", host)
	}
	if !p.allowsOrigin(origin, host) {
		return status.Newf(codes.PermissionDenied, "origin %q may not call this server: it is neither the page's own nor an allowed origin", origin)
	}
	return nil
}

// cors answers CORS for the gRPC calls of listed origins: their preflight,
// and the response headers that let a page read replies, statuses and
// metadata. The page's own origin needs none of it.
func (p *policy) cors(next http.Handler) http.Handler {
	return cors.New(cors.Options{
		AllowOriginFunc: p.isListed,
		AllowedMethods:  []string{http.MethodPost},
		AllowedHeaders:  []string{"*"},
		ExposedHeaders:  []string{grpcwire.HeaderStatus, grpcwire.HeaderMessage, grpcwire.HeaderStatusDetails, "*"},
		MaxAge:          600,
	}).Handler(next)
}

// refuse answers an HTTP request the policy refused, before anything runs:
// a gRPC call as gRPC does (native gRPC: a trailers-only response, as
// grpc-go's transport answers its tap's refusals; gRPC-Web: 403 with the
// status in gRPC's headers, for clients that read them), anything else
// with a plain 403.
func refuse(w http.ResponseWriter, r *http.Request, st *status.Status) {
	ct, isGRPC := grpcwire.ParseContentType(r.Header.Get("Content-Type"))
	if isGRPC {
		h := w.Header()
		h.Set("Content-Type", ct.String())
		setHeaderMD(h, "", trailerMD(nil, st))
		if !ct.Web {
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	http.Error(w, st.Message(), http.StatusForbidden)
}
