package api_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/internal/testdb"
)

// cutProxy forwards TCP to Postgres until cut, then drops every connection
// and refuses new ones until restored: a database outage on demand.
type cutProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	cut      bool
	conns    []net.Conn
}

func newCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// A database outage answers 503 with Retry-After and stores nothing; when
// the database is back the same request succeeds, once, without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, dbURL := testdb.New(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	cfg, err := pgxpool.ParseConfig(u.String() + "&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	b := setupOn(t, ctx, pool)

	submit := func() (int, string, string) {
		resp := b.do(t, "POST", "/f/"+b.form.PublicID, `{"email":"ada@example.com"}`,
			map[string]string{"Content-Type": "application/json", "Idempotency-Key": "outage-1"})
		body := readBody(t, resp)
		return resp.StatusCode, resp.Header.Get("Retry-After"), body
	}

	proxy.setCut(true)
	for range 3 { // broken pooled connections first, then refused new ones
		status, retry, body := submit()
		if status != 503 || retry == "" || !strings.Contains(body, "service-unavailable") {
			t.Fatalf("during the outage: %d Retry-After=%q %s", status, retry, body)
		}
	}
	if resp := b.do(t, "GET", "/readyz", "", nil); resp.StatusCode != 503 {
		t.Errorf("/readyz during the outage = %d, want 503", resp.StatusCode)
	}
	if resp := b.do(t, "GET", "/healthz", "", nil); resp.StatusCode != 200 {
		t.Errorf("/healthz during the outage = %d, want 200 (the process is up)", resp.StatusCode)
	}

	proxy.setCut(false)
	status, _, body := submit()
	if status != 201 {
		t.Fatalf("after the outage: %d %s", status, body)
	}
	if status, _, _ := submit(); status != 201 {
		t.Fatalf("retry after the outage: %d", status)
	}
	if n := b.count(t, "SELECT count(*) FROM submissions"); n != 1 {
		t.Errorf("submissions = %d, want 1", n)
	}
}
