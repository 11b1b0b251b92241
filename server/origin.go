package server

import (
	"net/http"
	"net/url"
	"strings"
)

// originPolicy decides which browser origins may call the API: the page's
// own origin always, others only when listed with -allowed-origins.
type originPolicy struct {
	listed map[string]bool
}

func newOriginPolicy(origins []string) originPolicy {
	p := originPolicy{listed: make(map[string]bool)}
	for _, o := range origins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			p.listed[strings.ToLower(o)] = true
		}
	}
	return p
}

// isListed reports whether origin was named in -allowed-origins.
func (p originPolicy) isListed(origin string) bool { return p.listed[strings.ToLower(origin)] }

// allows reports whether a request may proceed: no Origin header (not a
// browser), the server's own origin, or a listed one.
func (p originPolicy) allows(r *http.Request) bool {
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
