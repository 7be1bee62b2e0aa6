package tokenbucket

import "testing"

func TestAddressKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
	} {
		if got := AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// A limit shared by the live nodes: each keeps its part, rounded down, at
// least 1; nil and the zero value are one node.
func TestShare(t *testing.T) {
	var none *Share
	var zero Share
	if none.Of(30) != 30 || zero.Of(30) != 30 || none.Nodes() != 1 {
		t.Errorf("one node: %d %d %d", none.Of(30), zero.Of(30), none.Nodes())
	}
	s := &Share{}
	for _, tc := range []struct{ nodes, limit, want int }{{3, 30, 10}, {4, 30, 7}, {3, 2, 1}, {0, 30, 30}, {3, 0, 0}} {
		s.Set(tc.nodes)
		if got := s.Of(tc.limit); got != tc.want {
			t.Errorf("%d nodes, limit %d: %d each, want %d", tc.nodes, tc.limit, got, tc.want)
		}
	}
}
