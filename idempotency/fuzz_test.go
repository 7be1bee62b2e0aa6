package idempotency_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/intakehq/intake/idempotency"
)

// FuzzParseHeader: a key is accepted only if it is 1–255 printable ASCII
// characters, never with a comma unless quoted, and never panics.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"abc", `"abc"`, `"a\"b"`, `"abc`, "k1, k2", `"a,b"`, "", strings.Repeat("x", 300), "clé", `"\q"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		key, err := idempotency.ParseHeader([]string{v})
		if err != nil {
			if !errors.Is(err, idempotency.ErrKeyInvalid) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if v != "" && key == "" || len(key) > idempotency.MaxKeyLength {
			t.Fatalf("accepted %q as %q", v, key)
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				t.Fatalf("accepted a non-printable key %q", key)
			}
		}
		if strings.HasPrefix(key, idempotency.KeylessPrefix) || strings.HasPrefix(key, idempotency.ImplicitPrefix) {
			t.Fatalf("accepted a key in Intake's own space: %q", key)
		}
		if !strings.HasPrefix(strings.TrimSpace(v), `"`) && strings.Contains(key, ",") {
			t.Fatalf("accepted a bare key with a comma: %q", v)
		}
	})
}
