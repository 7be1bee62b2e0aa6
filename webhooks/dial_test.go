package webhooks_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/webhooks"
)

// The delivery client refuses, at dial time, every spelling of a loopback
// receiver that listens: the connection is never made. Numeric hosts that
// are not canonical addresses are refused before any lookup (a system
// resolver reads 127.1 as 127.0.0.1).
func TestDialRefusesEverySpelling(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { accepted.Add(1) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	client := webhooks.NewHTTPClient(false)
	for _, host := range []string{
		"127.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:0:127.0.0.1]", "[::127.0.0.1]", "[64:ff9b::127.0.0.1]",
		"[64:ff9b:1::127.0.0.1]", "[2002:7f00:1::]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]", "[::1]",
		"localhost", "2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x7f000001", "127.0.0.1.",
	} {
		u := "http://" + host + ":" + port + "/"
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", u, nil)
		resp, err := client.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: answered %d, want the address refused", u, resp.StatusCode)
			continue
		}
		if !strings.Contains(err.Error(), webhooks.ErrBlockedAddress.Error()) {
			t.Errorf("%s: err = %v, want the address refused", u, err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the loopback receiver got %d requests", n)
	}
	// The same receiver, allowed (INTAKE_WEBHOOK_ALLOW_PRIVATE): the test
	// above did not pass only because nothing listened.
	resp, err := webhooks.NewHTTPClient(true).Post("http://127.0.0.1:"+port+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if accepted.Load() != 1 {
		t.Error("the receiver is not reachable even when private addresses are allowed")
	}
}
