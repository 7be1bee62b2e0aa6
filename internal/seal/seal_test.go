package seal_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/webhooks"
)

func TestSealer(t *testing.T) {
	t.Parallel()
	s, err := seal.New("instance key")
	if err != nil {
		t.Fatal(err)
	}
	secret := webhooks.NewSecret()
	sealed := s.Seal(secret, "wh_one")
	if !strings.HasPrefix(sealed, "sealed:v1:") || strings.Contains(sealed, secret[len("whsec_"):]) {
		t.Fatalf("sealed %q", sealed)
	}
	if sealed == s.Seal(secret, "wh_one") {
		t.Error("two seals of one secret are equal: the nonce is not fresh")
	}
	if got, err := s.Open(sealed, "wh_one"); err != nil || got != secret {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Copied into another endpoint's row, it does not open there.
	if _, err := s.Open(sealed, "wh_two"); !errors.Is(err, seal.ErrUnseal) {
		t.Errorf("a secret sealed for one endpoint opened for another: %v", err)
	}
	other, _ := seal.New("another key")
	if _, err := other.Open(sealed, "wh_one"); !errors.Is(err, seal.ErrUnseal) {
		t.Errorf("another key opened it: %v", err)
	}
	if _, err := s.Open(sealed[:len(sealed)-2]+"AA", "wh_one"); !errors.Is(err, seal.ErrUnseal) {
		t.Errorf("a damaged seal opened: %v", err)
	}
	if got, err := s.Open(secret, "wh_one"); err != nil || got != secret {
		t.Errorf("a secret stored before sealing = %q, %v", got, err)
	}
	if _, err := seal.New(""); err == nil {
		t.Error("an empty key made a sealer")
	}
}

// TestDeriveKey pins the derived keys: a change to the derivation would
// leave secrets sealed before unreadable and links mailed before invalid.
func TestDeriveKey(t *testing.T) {
	t.Parallel()
	for purpose, want := range map[string]string{
		"intake webhook endpoint secrets v1":     "ee99a21942b0492415a3c5bf169482a65b33c8227cf292d17e5da2b2a138160e",
		"intake recipient confirmation links v1": "f9a5971d2ff5c6e83dfbdc4b8681f9a26dfd969487b8e165f7b2bee011420a81",
		"intake unsubscribe links v1":            "9960cb1ff757ba8e0c2143c7f16c8c4deb62fd38b6f258065419c19f828982d6",
	} {
		key, err := seal.DeriveKey("instance key", purpose)
		if err != nil || hex.EncodeToString(key) != want {
			t.Errorf("DeriveKey(%q) = %x, %v; want %s", purpose, key, err, want)
		}
	}
	// Sealed by the Sealer as it was before DeriveKey, it still opens.
	s, err := seal.New("instance key")
	if err != nil {
		t.Fatal(err)
	}
	const before = "sealed:v1:dHdlbHZlIGJ5dGVzR7dKNe3BAo5AW4QGj1DZpFttZ9HEaQXHHs+yzN2I1yvjmFs"
	if got, err := s.Open(before, "wh_one"); err != nil || got != "whsec_sealed before" {
		t.Errorf("Open(sealed before) = %q, %v", got, err)
	}
}
