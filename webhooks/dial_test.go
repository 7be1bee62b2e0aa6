package webhooks_test

import (
	"net/netip"
	"testing"

	"github.com/intakehq/intake/webhooks"
)

func TestPublicAddress(t *testing.T) {
	t.Parallel()
	for addr, public := range map[string]bool{
		"93.184.215.14":     true,
		"2606:4700::6810:1": true,
		"127.0.0.1":         false,
		"127.8.9.10":        false,
		"10.0.0.1":          false,
		"172.16.5.4":        false,
		"192.168.1.1":       false,
		"169.254.169.254":   false, // cloud metadata
		"100.64.0.1":        false, // CGNAT
		"0.0.0.0":           false,
		"224.0.0.1":         false,
		"255.255.255.255":   false,
		"::1":               false,
		"::":                false,
		"fe80::1":           false,
		"fd00:ec2::254":     false, // AWS metadata over IPv6
		"::ffff:127.0.0.1":  false, // IPv4-mapped loopback
		"::ffff:10.1.2.3":   false,
		"64:ff9b::a00:1":    false, // NAT64 of 10.0.0.1
	} {
		if got := webhooks.PublicAddress(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddress(%s) = %v, want %v", addr, got, public)
		}
	}
}
