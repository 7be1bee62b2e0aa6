package forms

import "testing"

// The submission path reuses a form's decoded settings only while the
// stored bytes are the same: an edit, through Intake or in SQL, is seen on
// the next read.
func TestDecodeCacheFollowsTheBytes(t *testing.T) {
	c := &decodeCache{}
	raw, fields := []byte(`{"honeypot_field":"_hp"}`), []byte(`[]`)
	c.put(1, raw, fields, Settings{HoneypotField: "_hp"}, nil)
	raw[2] = 'X' // the caller's buffer is reused by the driver: the cache kept a copy
	if d := c.get(1, []byte(`{"honeypot_field":"_hp"}`), fields); d == nil || d.settings.HoneypotField != "_hp" {
		t.Fatalf("same bytes: %+v, want the cached decoding", d)
	}
	if d := c.get(1, []byte(`{"honeypot_field":"_other"}`), fields); d != nil {
		t.Fatal("changed settings bytes returned the old decoding")
	}
	if d := c.get(1, []byte(`{"honeypot_field":"_hp"}`), []byte(`[{"name":"x"}]`)); d != nil {
		t.Fatal("changed contract bytes returned the old decoding")
	}
	if d := c.get(2, []byte(`{"honeypot_field":"_hp"}`), fields); d != nil {
		t.Fatal("another form's id returned this form's decoding")
	}
	var none *decodeCache
	if none.get(1, raw, fields) != nil {
		t.Fatal("a nil cache returned something")
	}
	for i := range maxCachedForms + 1 {
		c.put(int64(i+10), raw, fields, Settings{}, nil)
	}
	if n := len(c.forms); n > maxCachedForms {
		t.Fatalf("cache holds %d forms, bound %d", n, maxCachedForms)
	}
}
