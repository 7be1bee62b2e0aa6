package httpedge

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the client's address: the peer's, or — when the peer is one
// of trusted — the rightmost X-Forwarded-For hop that is not a trusted
// proxy. X-Forwarded-For from anyone else is ignored: a client could
// otherwise choose its own implicit dedupe key, spoof its address and
// slip its per-address limits (README, INTAKE_TRUSTED_PROXIES).
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !isTrusted(host, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			break // a malformed hop: trust nothing further left
		}
		host = hop
		if !isTrusted(hop, trusted) {
			break
		}
	}
	return host
}

func isTrusted(ip string, trusted []netip.Prefix) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
