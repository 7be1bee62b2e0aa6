package webhooks

import (
	"net/netip"
	"strings"
)

// Where a webhook may connect is decided here, once, for every outbound
// dial (the delivery client's Control hook, after DNS) and for literal
// addresses when an endpoint is saved. docs/SECURITY.md ("Webhook receivers
// and Intake's network") lists the decisions.

type refusedRange struct {
	prefix netip.Prefix
	why    string
}

func ranges(pairs ...string) []refusedRange {
	out := make([]refusedRange, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, refusedRange{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// refused4 are the IPv4 ranges that are not global unicast (the IANA
// special-purpose registry's non-global entries, and multicast), first
// match wins. Cloud metadata (169.254.169.254) is link-local.
var refused4 = ranges(
	"0.0.0.0/8", "“this network” (0.0.0.0/8)",
	"10.0.0.0/8", "private (10.0.0.0/8)",
	"100.64.0.0/10", "shared CGNAT space (100.64.0.0/10)",
	"127.0.0.0/8", "loopback (127.0.0.0/8)",
	"169.254.0.0/16", "link-local (169.254.0.0/16, where cloud metadata lives)",
	"172.16.0.0/12", "private (172.16.0.0/12)",
	"192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)",
	"192.0.2.0/24", "documentation (192.0.2.0/24)",
	"192.88.99.0/24", "the deprecated 6to4 relay anycast (192.88.99.0/24)",
	"192.168.0.0/16", "private (192.168.0.0/16)",
	"198.18.0.0/15", "benchmarking (198.18.0.0/15)",
	"198.51.100.0/24", "documentation (198.51.100.0/24)",
	"203.0.113.0/24", "documentation (203.0.113.0/24)",
	"224.0.0.0/4", "multicast (224.0.0.0/4)",
	"255.255.255.255/32", "broadcast (255.255.255.255)",
	"240.0.0.0/4", "reserved (240.0.0.0/4)",
)

// refused6 are the IPv6 ranges refused inside 2000::/3 (global unicast;
// everything outside it is refused too) besides Teredo and 6to4, which
// Classify names with the address they embed; first match wins.
var refused6 = ranges(
	"2001:db8::/32", "documentation (2001:db8::/32)",
	"2001::/23", "IETF protocol assignments (2001::/23)",
	"3fff::/20", "documentation (3fff::/20)",
)

// special6 are the named ranges outside 2000::/3, for a clearer reason
// than "not global unicast".
var special6 = ranges(
	"100::/64", "discard-only (100::/64)",
	"fc00::/7", "unique local (fc00::/7)",
	"fe80::/10", "link-local (fe80::/10)",
	"fec0::/10", "site-local (fec0::/10, deprecated)",
	"ff00::/8", "multicast (ff00::/8)",
)

var (
	global6     = netip.MustParsePrefix("2000::/3")
	compatible  = netip.MustParsePrefix("::/96")
	translated  = netip.MustParsePrefix("::ffff:0:0:0/96")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local  = netip.MustParsePrefix("64:ff9b:1::/48")
	teredo      = netip.MustParsePrefix("2001::/32")
	sixToFour   = netip.MustParsePrefix("2002::/16")
	unspecified = netip.IPv6Unspecified()
	loopback6   = netip.IPv6Loopback()
)

// Classify reports whether a webhook may connect to ip: only global
// unicast addresses, in every spelling. When it may not, reason says what
// ip is ("loopback (127.0.0.0/8)", "IPv4-translated IPv6 (::ffff:0:0:0/96)
// of 127.0.0.1, which is loopback (127.0.0.0/8)"). A zone is ignored.
//
// IPv6 that embeds an IPv4 address is judged by what it can reach:
// IPv4-mapped (::ffff:0:0/96) is the IPv4 address itself, and NAT64 of the
// well-known prefix (64:ff9b::/96, which RFC 6052 keeps for global IPv4)
// reaches the embedded address through the translator, so both pass when
// that address does — an IPv6-only host reaches IPv4-only receivers that
// way. The rest are refused whatever they embed: IPv4-compatible (::/96)
// and IPv4-translated (::ffff:0:0:0/96) are not global unicast; local-use
// NAT64 (64:ff9b:1::/48) maps as its operator chose, so the embedded
// address cannot be known; 6to4 (2002::/16) and Teredo (2001::/32) are
// deprecated tunnels to an IPv4 host (Teredo's client address even XOR'd),
// which no receiver needs.
func Classify(ip netip.Addr) (ok bool, reason string) {
	ip = ip.WithZone("")
	switch {
	case !ip.IsValid():
		return false, "not an IP address"
	case ip.Is4():
		return classify4(ip)
	case ip.Is4In6():
		v4 := ip.Unmap()
		if ok, why := classify4(v4); !ok {
			return false, embedding("IPv4-mapped IPv6 (::ffff:0:0/96)", v4, why)
		}
		return true, ""
	case ip == unspecified:
		return false, "unspecified (::)"
	case ip == loopback6:
		return false, "loopback (::1)"
	case translated.Contains(ip):
		return false, embedding("IPv4-translated IPv6 (::ffff:0:0:0/96)", last4(ip), reason4(last4(ip)))
	case compatible.Contains(ip):
		return false, embedding("IPv4-compatible IPv6 (::/96, deprecated)", last4(ip), reason4(last4(ip)))
	case nat64.Contains(ip):
		v4 := last4(ip)
		if ok, why := classify4(v4); !ok {
			return false, embedding("NAT64 (64:ff9b::/96)", v4, why)
		}
		return true, ""
	case nat64Local.Contains(ip):
		return false, "local-use NAT64 (64:ff9b:1::/48), translated as its operator chose"
	case teredo.Contains(ip):
		b := ip.As16()
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		return false, embedding("Teredo (2001::/32, deprecated)", client, reason4(client))
	case sixToFour.Contains(ip):
		b := ip.As16()
		v4 := netip.AddrFrom4([4]byte(b[2:6]))
		return false, embedding("6to4 (2002::/16, deprecated)", v4, reason4(v4))
	}
	for _, r := range refused6 {
		if r.prefix.Contains(ip) {
			return false, r.why
		}
	}
	if !global6.Contains(ip) {
		for _, r := range special6 {
			if r.prefix.Contains(ip) {
				return false, r.why
			}
		}
		return false, "not global unicast (outside 2000::/3)"
	}
	return true, ""
}

func classify4(ip netip.Addr) (bool, string) {
	for _, r := range refused4 {
		if r.prefix.Contains(ip) {
			return false, r.why
		}
	}
	return true, ""
}

// reason4 is why ip is refused, "" when it is public.
func reason4(ip netip.Addr) string {
	_, why := classify4(ip)
	return why
}

func last4(ip netip.Addr) netip.Addr {
	b := ip.As16()
	return netip.AddrFrom4([4]byte(b[12:16]))
}

func embedding(kind string, v4 netip.Addr, why string) string {
	s := kind + " of " + v4.String()
	if why != "" {
		s += ", which is " + why
	}
	return s
}

// endsInNumber reports whether host would be read as an IPv4 address by
// software that follows the WHATWG URL standard (browsers, curl, many
// resolvers): its last label is decimal digits or 0x and hex digits. Such a
// host that is not a canonical dotted quad — 2130706433, 0177.0.0.1,
// 0x7f.1, 127.1 — is another spelling of an address, never a name.
func endsInNumber(host string) bool {
	labels := strings.Split(host, ".")
	if labels[len(labels)-1] == "" && len(labels) > 1 {
		labels = labels[:len(labels)-1]
	}
	last := strings.ToLower(labels[len(labels)-1])
	if last == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// hostProblem says why an endpoint whose URL names host may not be saved,
// "" when it may: a literal address Classify refuses, "localhost", or a
// numeric host that is not a canonical address (refused even when
// allowPrivate: it is never a name, and Go's resolver would look it up in
// DNS). Names are checked when they are dialled, since DNS can change.
func hostProblem(host string, allowPrivate bool) string {
	if ip, err := netip.ParseAddr(host); err == nil {
		if allowPrivate {
			return ""
		}
		if ok, why := Classify(ip); !ok {
			return "url points to " + ip.WithZone("").String() + ", " + why + ": webhooks are sent only to public addresses"
		}
		return ""
	}
	if endsInNumber(host) {
		return "url's host " + host + " is a number, not a name: write an IPv4 address as four decimal numbers, such as 203.0.113.7"
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if !allowPrivate && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
		return "url points to " + host + ", this machine: webhooks are sent only to public addresses"
	}
	return ""
}
