package api_test

import (
	"net/netip"
	"testing"
)

// Behind a trusted load balancer, the submitter's address comes from
// X-Forwarded-For (so two people behind one balancer are not one "client"
// to the implicit dedupe); from anyone else the header is ignored.
func TestClientIPBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	post := func(xff string) string {
		t.Helper()
		r := b.submit(t, b.form.PublicID, ctJSON, `{"email":"a@example.com"}`, "X-Forwarded-For", xff)
		if r.Status != 201 {
			t.Fatalf("submit = %s", r)
		}
		id := decodeObject(t, r.Body)["id"].(string)
		return b.submission(t, id)["meta"].(map[string]any)["ip"].(string)
	}
	// The test server's peer is 127.0.0.1: not trusted yet.
	if ip := post("203.0.113.9"); ip != "127.0.0.1" {
		t.Errorf("an untrusted peer's X-Forwarded-For was believed: %s", ip)
	}
	b.api.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	b.server.Config.Handler = b.api.Handler()
	for xff, want := range map[string]string{
		"203.0.113.9":                      "203.0.113.9",
		"198.51.100.1, 203.0.113.9":        "203.0.113.9", // the client chose the left one; the proxy wrote the right one
		"203.0.113.9, 10.1.2.3":            "203.0.113.9", // a second trusted hop is skipped
		"garbage, 203.0.113.9":             "203.0.113.9", // parsing stops at the first untrusted hop from the right
		"203.0.113.9, not-an-ip, 10.1.2.3": "10.1.2.3",    // a malformed hop ends the walk
	} {
		if ip := post(xff); ip != want {
			t.Errorf("X-Forwarded-For %q: ip %s, want %s", xff, ip, want)
		}
	}
}
