package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// cookieName is the session cookie of the server (internal/httpauth).
const cookieName = "twofold_session"

// client sends the requests of every scenario. One keep-alive transport
// holds a connection per worker, as load-balanced clients would.
type client struct {
	base string
	http *http.Client
}

func newClient(base string, conns int, source net.IP) *client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if source != nil {
		d.LocalAddr = &net.TCPAddr{IP: source}
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     time.Minute,
	}
	return &client{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// do sends one request and returns the outcome and the session token the
// answer set (if any). Only error answers are read for their problem code.
func (c *client) do(ctx context.Context, method, path, token string, body any) (outcome, string) {
	return c.doWith(ctx, method, path, token, body, nil)
}

// doWith is do with extra request headers.
func (c *client) doWith(ctx context.Context, method, path, token string, body any, hdr http.Header) (outcome, string) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return outcome{}, ""
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return outcome{}, ""
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Cookie", cookieName+"="+token)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return outcome{}, ""
	}
	defer resp.Body.Close()
	o := outcome{status: resp.StatusCode, ok: resp.StatusCode/100 == 2}
	if !o.ok {
		var problem struct {
			Code string `json:"code"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&problem)
		o.code = problem.Code
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	var set string
	for _, ck := range resp.Cookies() {
		if ck.Name == cookieName {
			set = ck.Value
		}
	}
	return o, set
}

// checkLoopback refuses any target but this machine: the tool generates
// real load and must not be pointed at someone else's service.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bench: url %q: want http://127.0.0.1:PORT", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("bench: url %q: only loopback addresses (127.0.0.1, ::1) may be benchmarked", raw)
	}
	return nil
}

// sourceAddress picks a random address in 127.0.0.0/8 for this run's
// connections (Linux answers on all of them), so that the server's
// per-address throttle, kept in the database, starts fresh for every run:
// the password flood of one run does not throttle the next. nil (the
// system's choice) when the target is not 127.0.0.1 or binding fails.
func sourceAddress(target string) net.IP {
	u, err := url.Parse(target)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil
	}
	src := net.IPv4(127, 1+b[0]%254, b[1], 1+b[2]%254)
	port := u.Port()
	if port == "" {
		port = "80"
	}
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: src}}
	conn, err := d.Dial("tcp", net.JoinHostPort(ip.String(), port))
	if err != nil {
		return nil
	}
	conn.Close()
	return src
}
