// Package clientaddr holds what both HTTP edges (api and web) need to
// know about a client's address.
package clientaddr

import "net/netip"

// Key is the address a per-client limit counts by: an IPv6 client usually
// holds a whole /64 and can rotate through it at will, so a /64 counts as
// one client; an IPv4-mapped address counts as its IPv4 address. A string
// that is not an address is its own key.
func Key(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}
