package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// serve runs h behind l's listener and server; it returns the address.
func serve(t *testing.T, l Limits, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := l.HTTPServer(h, context.Background(), hclog.NewNullLogger())
	go srv.Serve(l.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return err == nil // EOF: the server closed it; a timeout is an error
}

// Finding 10 of issue 13: slow bodies, idle keep-alives and connection
// floods are bounded.
func TestHTTPLimits(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body); fmt.Fprint(w, "ok") })
	l := Limits{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: time.Second, IdleTimeout: 300 * time.Millisecond, MaxConns: 2}
	addr := serve(t, l, ok)

	t.Run("slow headers", func(t *testing.T) {
		c, _ := net.Dial("tcp", addr)
		defer c.Close()
		fmt.Fprint(c, "PUT /x HTTP/1.1\r\n")
		if !closedWithin(c, 2*time.Second) {
			t.Fatal("connection with unfinished headers still open")
		}
	})
	t.Run("slow body", func(t *testing.T) {
		c, _ := net.Dial("tcp", addr)
		defer c.Close()
		fmt.Fprint(c, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
		if !closedWithin(c, 2*time.Second) {
			t.Fatal("connection with a stalled body still open")
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c, _ := net.Dial("tcp", addr)
		defer c.Close()
		fmt.Fprint(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
		if !closedWithin(c, 2*time.Second) {
			t.Fatal("idle keep-alive connection still open")
		}
	})
	t.Run("connection cap", func(t *testing.T) {
		var held []net.Conn
		for range 2 {
			c, _ := net.Dial("tcp", addr)
			fmt.Fprint(c, "GET /x HTTP/1.1\r\nHost: x\r\n") // unfinished: holds a slot
			held = append(held, c)
		}
		third, _ := net.Dial("tcp", addr) // the kernel accepts it; the server does not yet
		defer third.Close()
		fmt.Fprint(third, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		third.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _ := third.Read(make([]byte, 1)); n > 0 {
			t.Fatal("a third connection was served beyond the cap of 2")
		}
		for _, c := range held {
			c.Close()
		}
		third.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(third), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("third connection after the others closed: %v %v", resp, err)
		}
	})
}

func TestInFlightCap(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	s := NewServer(Options{Agent: membersView{}, MaxInFlight: 1, ExtraHandlers: map[string]http.Handler{
		"GET /v1/debug/hold": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { entered <- struct{}{}; <-release }),
	}})
	addr := serve(t, Limits{}, s)
	go http.Get("http://" + addr + "/v1/debug/hold")
	<-entered
	resp, err := http.Get("http://" + addr + "/v1/agent/self")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	close(release)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second request while one is in flight with a cap of 1: %d %v", resp.StatusCode, resp.Header)
	}
}
