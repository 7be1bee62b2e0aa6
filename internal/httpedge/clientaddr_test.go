package httpedge

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientIP walks X-Forwarded-For right to left through trusted
// proxies only; api's and web's tests check the same through their
// handlers.
func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"NoProxies", "127.0.0.1:1234", []string{"203.0.113.9"}, nil, "127.0.0.1"},
		{"UntrustedPeer", "192.0.2.1:1234", []string{"203.0.113.9"}, trusted, "192.0.2.1"},
		{"TrustedPeer", "127.0.0.1:1234", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"ClientChoseTheLeftOne", "127.0.0.1:1234", []string{"198.51.100.1, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"SecondTrustedHop", "127.0.0.1:1234", []string{"203.0.113.9, 10.1.2.3"}, trusted, "203.0.113.9"},
		{"GarbageLeftOfUntrusted", "127.0.0.1:1234", []string{"garbage, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"MalformedHopEndsTheWalk", "127.0.0.1:1234", []string{"203.0.113.9, not-an-ip, 10.1.2.3"}, trusted, "10.1.2.3"},
		{"SeveralHeaders", "127.0.0.1:1234", []string{"198.51.100.1", "203.0.113.9, 10.1.2.3"}, trusted, "203.0.113.9"},
		{"AllTrusted", "127.0.0.1:1234", []string{"10.1.2.3"}, trusted, "10.1.2.3"},
		{"MappedPeer", "[::ffff:127.0.0.1]:1234", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"NoPort", "127.0.0.1", nil, trusted, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tt.trusted); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
