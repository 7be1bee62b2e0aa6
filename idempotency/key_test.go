package idempotency_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/intakehq/intake/idempotency"
)

func TestParseHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		values []string
		want   string
		err    error
	}{
		{"absent", nil, "", nil},
		{"bare token", []string{"8e03978e-40d5-43e8-bc93-6894a57f9324"}, "8e03978e-40d5-43e8-bc93-6894a57f9324", nil},
		{"sf-string", []string{`"8e03978e-40d5"`}, "8e03978e-40d5", nil},
		{"sf-string with escapes", []string{`"a\"b\\c"`}, `a"b\c`, nil},
		{"surrounding spaces trimmed", []string{"  abc  "}, "abc", nil},
		{"printable punctuation", []string{"order#42/retry 1;x"}, "order#42/retry 1;x", nil},
		{"max length", []string{strings.Repeat("k", 255)}, strings.Repeat("k", 255), nil},
		{"sent twice", []string{"a", "a"}, "", idempotency.ErrKeyInvalid},
		{"joined by a proxy", []string{"k1, k2"}, "", idempotency.ErrKeyInvalid},
		{"comma inside a quoted key", []string{`"a,b"`}, "a,b", nil},
		{"empty", []string{""}, "", idempotency.ErrKeyInvalid},
		{"empty sf-string", []string{`""`}, "", idempotency.ErrKeyInvalid},
		{"too long", []string{strings.Repeat("k", 256)}, "", idempotency.ErrKeyInvalid},
		{"non-ASCII", []string{"clé"}, "", idempotency.ErrKeyInvalid},
		{"control character", []string{"a\x01b"}, "", idempotency.ErrKeyInvalid},
		{"unterminated sf-string", []string{`"abc`}, "", idempotency.ErrKeyInvalid},
		{"sf-string with parameters", []string{`"abc";x=1`}, "", idempotency.ErrKeyInvalid},
		{"bad escape", []string{`"a\nb"`}, "", idempotency.ErrKeyInvalid},
		// Intake's own keys for keyless posts: a client taking one could
		// pre-empt another's post.
		{"keyless JSON prefix", []string{"json:0f3a"}, "", idempotency.ErrKeyInvalid},
		{"implicit prefix, quoted", []string{`"auto:0f3a"`}, "", idempotency.ErrKeyInvalid},
		{"prefix not at the start", []string{"order-json:1"}, "order-json:1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := idempotency.ParseHeader(tc.values)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("ParseHeader(%q) = %q, %v; want %q, %v", tc.values, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	f := func(fields ...idempotency.Field) []byte { return idempotency.Fingerprint(fields) }
	a := f(idempotency.Field{"email", []string{"a@b.c"}}, idempotency.Field{"tags", []string{"x", "y"}})
	if !bytes.Equal(a, f(idempotency.Field{"tags", []string{"x", "y"}}, idempotency.Field{"email", []string{"a@b.c"}})) {
		t.Error("field order must not change the fingerprint")
	}
	for name, other := range map[string][]byte{
		"value order":  f(idempotency.Field{"email", []string{"a@b.c"}}, idempotency.Field{"tags", []string{"y", "x"}}),
		"value change": f(idempotency.Field{"email", []string{"a@b.d"}}, idempotency.Field{"tags", []string{"x", "y"}}),
		"field added":  f(idempotency.Field{"email", []string{"a@b.c"}}, idempotency.Field{"tags", []string{"x", "y"}}, idempotency.Field{"z", []string{""}}),
		// Length prefixes keep "ab"+"c" apart from "a"+"bc".
		"boundary shift": f(idempotency.Field{"email", []string{"a@b.c"}}, idempotency.Field{"tags", []string{"xy"}}),
	} {
		if bytes.Equal(a, other) {
			t.Errorf("%s must change the fingerprint", name)
		}
	}
}

func TestImplicitKey(t *testing.T) {
	t.Parallel()
	fp := idempotency.Fingerprint([]idempotency.Field{{"a", []string{"1"}}})
	k := idempotency.ImplicitKey("192.0.2.1", "Firefox", fp)
	if k != idempotency.ImplicitKey("192.0.2.1", "Firefox", fp) {
		t.Fatal("implicit keys must be deterministic")
	}
	if k == idempotency.ImplicitKey("192.0.2.2", "Firefox", fp) || k == idempotency.ImplicitKey("192.0.2.1", "Chrome", fp) {
		t.Fatal("another client must get another key")
	}
	if len(k) > idempotency.MaxKeyLength || !strings.HasPrefix(k, idempotency.ImplicitPrefix) {
		t.Fatalf("implicit key %q does not fit a key's column or lacks its prefix", k)
	}
	// Stored like a client's key, but no client may send one.
	if err := idempotency.CheckKey(k); !errors.Is(err, idempotency.ErrKeyInvalid) {
		t.Fatalf("a client may send the implicit key %q: %v", k, err)
	}
}
