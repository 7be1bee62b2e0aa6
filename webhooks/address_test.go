package webhooks

import (
	"net/netip"
	"strings"
	"testing"
)

// The address table: every spelling of a private, loopback or reserved
// address is refused — mapped, translated, compatible, NAT64, 6to4 and
// Teredo included — and public addresses pass. want is "" for an allowed
// address, or a word the refusal's reason must contain.
func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ addr, want string }{
		// Public: allowed.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"93.184.215.14", ""},
		{"100.63.255.255", ""}, // just below CGNAT
		{"100.128.0.0", ""},    // just above CGNAT
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.0.1.1", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"223.255.255.255", ""},
		{"2606:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
		{"2a00:1450:4001:80b::200e", ""},
		{"::ffff:8.8.8.8", ""},       // IPv4-mapped public: the IPv4 address itself
		{"64:ff9b::808:808", ""},     // NAT64 (well-known) of 8.8.8.8: an IPv6-only host's way out
		{"64:ff9b::1.1.1.1", ""},     // the same, dotted
		{"2003::1", ""},              // just past 6to4
		{"2001:200::1", ""},          // just past 2001::/23
		{"2606:4700::1111%eth0", ""}, // a zone changes nothing

		// IPv4 that is not global unicast.
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.5.4", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"0.0.0.0", "this network"},
		{"0.1.2.3", "this network"},
		{"192.0.0.8", "IETF"},
		{"192.0.0.170", "IETF"}, // NAT64 discovery
		{"192.0.2.1", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"192.88.99.1", "6to4 relay"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.254", "reserved"},
		{"255.255.255.255", "broadcast"},

		// IPv6 that is not global unicast.
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%lo", "link-local"},
		{"fec0::1", "site-local"},
		{"fc00::1", "unique local"},
		{"fd00:ec2::254", "unique local"}, // AWS metadata over IPv6
		{"ff02::1", "multicast"},
		{"ff05::1:3", "multicast"},
		{"100::1", "discard"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"2001:2::1", "IETF"},  // benchmarking
		{"2001:10::1", "IETF"}, // ORCHID
		{"4000::1", "not global unicast"},
		{"5f00::1", "not global unicast"}, // SRv6 SIDs
		{"1::1", "not global unicast"},

		// IPv4-mapped (::ffff:0:0/96): the embedded address decides.
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:7f00:1", "loopback"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:0.0.0.0", "this network"},
		{"::ffff:100.64.0.1", "CGNAT"},
		// IPv4-translated (::ffff:0:0:0/96): the address, refused whatever it embeds.
		{"::ffff:0:127.0.0.1", "127.0.0.1, which is loopback"},
		{"::ffff:0:7f00:1", "IPv4-translated"},
		{"::ffff:0:10.0.0.1", "private"},
		{"::ffff:0:169.254.169.254", "link-local"},
		{"::ffff:0:8.8.8.8", "IPv4-translated"},
		// IPv4-compatible (::/96, deprecated).
		{"::127.0.0.1", "IPv4-compatible"},
		{"::7f00:1", "loopback"},
		{"::10.0.0.1", "private"},
		{"::8.8.8.8", "IPv4-compatible"},
		{"::2", "IPv4-compatible"},
		// NAT64, well-known prefix: the embedded address decides.
		{"64:ff9b::127.0.0.1", "NAT64"},
		{"64:ff9b::7f00:1", "loopback"},
		{"64:ff9b::a00:1", "private"},
		{"64:ff9b::169.254.169.254", "link-local"},
		{"64:ff9b::192.168.0.1", "private"},
		{"64:ff9b::100.64.0.1", "CGNAT"},
		// NAT64, local-use prefix: refused whatever it embeds.
		{"64:ff9b:1::127.0.0.1", "local-use NAT64"},
		{"64:ff9b:1::808:808", "local-use NAT64"},
		{"64:ff9b:1:ffff::1", "local-use NAT64"},
		// 6to4 (2002::/16, deprecated): refused, naming what it embeds.
		{"2002:7f00:1::", "127.0.0.1, which is loopback"},
		{"2002:7f00:0001::1", "loopback"},
		{"2002:a00:1::1", "10.0.0.1, which is private"},
		{"2002:c0a8:101::1", "private"},
		{"2002:a9fe:a9fe::1", "link-local"},
		{"2002:808:808::1", "6to4"},
		// Teredo (2001::/32): refused; the client address is XOR'd.
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1, which is loopback"},
		{"2001::1", "Teredo"},
		{"2001:0:5ef5:79fb:0:59d:f7f7:f7f7", "Teredo"}, // client 8.8.8.8 (XOR'd)
	} {
		ok, why := Classify(netip.MustParseAddr(tc.addr))
		switch {
		case tc.want == "" && !ok:
			t.Errorf("Classify(%s) refused it (%s), want allowed", tc.addr, why)
		case tc.want != "" && ok:
			t.Errorf("Classify(%s) allowed it, want refused (%s)", tc.addr, tc.want)
		case tc.want != "" && !strings.Contains(why, tc.want):
			t.Errorf("Classify(%s) = %q, want a reason naming %q", tc.addr, why, tc.want)
		}
	}
	if ok, _ := Classify(netip.Addr{}); ok {
		t.Error("the zero Addr is allowed")
	}
}

// Hosts as an endpoint URL names them when it is saved.
func TestHostProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host         string
		allowPrivate bool
		want         string // "" allowed, else a word of the message
	}{
		{"hooks.example.com", false, ""},
		{"8.8.8.8", false, ""},
		{"2606:4700::1111", false, ""},
		{"example.com.", false, ""},
		{"1password.com", false, ""},
		{"0x.example", false, ""},
		{"a1.b2", false, ""},
		{"127.0.0.1", false, "loopback"},
		{"::ffff:0:127.0.0.1", false, "IPv4-translated"},
		{"::ffff:127.0.0.1", false, "IPv4-mapped"},
		{"169.254.169.254", false, "link-local"},
		{"fe80::1%eth0", false, "link-local"},
		{"localhost", false, "this machine"},
		{"LOCALHOST.", false, "this machine"},
		{"api.localhost", false, "this machine"},
		{"2130706433", false, "is a number"},
		{"0177.0.0.1", false, "is a number"},
		{"0x7f.1", false, "is a number"},
		{"0x7F000001", false, "is a number"},
		{"127.1", false, "is a number"},
		{"127.0.0.1.", false, "is a number"},
		{"017700000001", false, "is a number"},
		{"foo.0x", false, "is a number"},
		{"1.2.3.4.5", false, "is a number"},
		// Development (INTAKE_WEBHOOK_ALLOW_PRIVATE): private literals and
		// localhost pass, numbers that are not addresses still do not.
		{"127.0.0.1", true, ""},
		{"localhost", true, ""},
		{"::ffff:0:127.0.0.1", true, ""},
		{"127.1", true, "is a number"},
		{"2130706433", true, "is a number"},
	} {
		got := hostProblem(tc.host, tc.allowPrivate)
		switch {
		case tc.want == "" && got != "":
			t.Errorf("hostProblem(%q, %v) = %q, want allowed", tc.host, tc.allowPrivate, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("hostProblem(%q, %v) = %q, want a refusal naming %q", tc.host, tc.allowPrivate, got, tc.want)
		}
	}
}
