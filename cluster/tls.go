package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/allot-dev/allot/tlsutil"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// handshakeTimeout bounds an incoming TLS handshake: a peer that connects
// and says nothing holds a goroutine at most this long.
const handshakeTimeout = 10 * time.Second

// tlsStreamLayer is a raft.StreamLayer over mutual TLS: it listens with the
// server's certificate and accepts only peers whose certificate, signed by
// the cluster CA, names tlsutil.ServerName (a client agent's certificate
// cannot speak Raft); it dials with the same certificate and verifies the
// peer under that name.
type tlsStreamLayer struct {
	ln   net.Listener // raw TCP; connections are wrapped on Accept
	adv  net.Addr
	srv  *tls.Config
	dial *tls.Config
	log  hclog.Logger
}

// newTLSStreamLayer listens on bind (host:port; port 0 picks one) and
// advertises advertiseIP with the bound port.
func newTLSStreamLayer(bind, advertiseIP string, certs *tlsutil.Certs, log hclog.Logger) (*tlsStreamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listening for raft on %s: %w", bind, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	adv, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(advertiseIP, strconv.Itoa(port)))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("raft advertise address: %w", err)
	}
	if adv.IP == nil || adv.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("raft advertise address %s is not routable", adv)
	}
	return &tlsStreamLayer{ln: ln, adv: adv, srv: certs.ServerConfig(tlsutil.ServerName),
		dial: certs.ClientConfig(tlsutil.ServerName), log: log}, nil
}

// Accept returns the next connection; its TLS handshake runs (bounded by
// handshakeTimeout) on its first read or write, in raft's goroutine for
// that connection, so a slow or hostile peer never blocks the accept loop.
func (l *tlsStreamLayer) Accept() (net.Conn, error) {
	c, err := l.ln.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakeConn{Conn: tls.Server(c, l.srv), log: l.log}, nil
}

func (l *tlsStreamLayer) Close() error   { return l.ln.Close() }
func (l *tlsStreamLayer) Addr() net.Addr { return l.adv }

// Dial connects to a peer and completes the TLS handshake within timeout.
func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: l.dial}
	c, err := d.DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("raft TLS dial %s: %w", address, err)
	}
	return c, nil
}

// handshakeConn runs the server-side handshake once, before the first read
// or write, and logs a refused peer once.
type handshakeConn struct {
	*tls.Conn
	log  hclog.Logger
	once sync.Once
	err  error
}

func (c *handshakeConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		defer cancel()
		if err := c.Conn.HandshakeContext(ctx); err != nil {
			c.err = fmt.Errorf("raft TLS handshake with %s: %w", c.RemoteAddr(), err)
			if !errors.Is(err, net.ErrClosed) {
				c.log.Warn("refused raft connection", "remote", c.RemoteAddr().String(), "error", err)
			}
		}
	})
	return c.err
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *handshakeConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// newTLSTransport is raft's network transport over tlsStreamLayer.
func newTLSTransport(bind, advertiseIP string, certs *tlsutil.Certs, log hclog.Logger) (*raft.NetworkTransport, error) {
	layer, err := newTLSStreamLayer(bind, advertiseIP, certs, log.Named("raft-tls"))
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  log.Named("raft-net"),
	}), nil
}
