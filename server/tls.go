package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certificate serves the TLS certificate of a cert and key file pair,
// reloaded when the files change (or Reload is called, on SIGHUP), so a
// renewed certificate takes effect without a restart and without dropping
// a connection: each new handshake takes the current one.
type certificate struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // the newer of the two files' at the last load
}

func newCertificate(certFile, keyFile string, log *slog.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. On failure the certificate in use stays.
func (c *certificate) Reload() error {
	mod := c.filesModTime()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s, key %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	c.cert, c.modTime = &cert, mod
	c.mu.Unlock()
	return nil
}

// filesModTime is the newer modification time of the two files.
func (c *certificate) filesModTime() time.Time {
	var t time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// reloadIfChanged reloads when a file is newer than the last load.
func (c *certificate) reloadIfChanged() {
	c.mu.Lock()
	last := c.modTime
	c.mu.Unlock()
	if !c.filesModTime().After(last) {
		return
	}
	if err := c.Reload(); err != nil {
		c.log.Error("TLS certificate changed but cannot be loaded; the previous one stays in use", "err", err)
		return
	}
	c.log.Info("TLS certificate reloaded", "cert", c.certFile)
}

// watch checks the files every interval until done is closed.
func (c *certificate) watch(interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.reloadIfChanged()
		case <-done:
			return
		}
	}
}

// get implements tls.Config.GetCertificate.
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert, nil
}

// tlsConfig is the port's TLS configuration: HTTP/2 and HTTP/1.1 by ALPN.
func (c *certificate) tlsConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: c.get,
		NextProtos:     []string{"h2", "http/1.1"},
		MinVersion:     tls.VersionTLS12,
	}
}
