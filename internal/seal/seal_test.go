package seal_test

import (
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
