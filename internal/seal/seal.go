// Package seal encrypts the secrets Intake keeps at rest — webhook
// endpoint secrets, forms' CAPTCHA secrets, the tokens account emails carry
// in their jobs — under a key derived from the instance's secret key
// (INTAKE_SECRET_KEY; docs/SECURITY.md), and derives the other keys made
// from that secret (DeriveKey). It owns no table: its callers store what it
// seals.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// sealedPrefix marks a secret stored encrypted (format version 1).
const sealedPrefix = "sealed:v1:"

// ErrUnseal is returned for a stored secret that cannot be decrypted: it
// was sealed under another INTAKE_SECRET_KEY, or damaged.
var ErrUnseal = errors.New("stored secret cannot be decrypted (was INTAKE_SECRET_KEY changed?)")

// Sealer encrypts secrets at rest with AES-256-GCM under a key derived
// (HKDF-SHA256) from the instance's secret key: a copy of the database
// alone does not give an attacker the secrets that sign webhooks (nor the
// forms' CAPTCHA secrets). The key's derivation keeps its first user's name
// (webhook endpoint secrets), so what was sealed before still opens.
// A nil *Sealer stores secrets as they are (tests that do not care).
type Sealer struct{ aead cipher.AEAD }

// New derives the sealing key from secretKey (INTAKE_SECRET_KEY, or
// the one generated and kept in the database). It returns an error for an
// empty key.
func New(secretKey string) (*Sealer, error) {
	if secretKey == "" {
		return nil, errors.New("seal: an empty secret key cannot seal")
	}
	key, err := DeriveKey(secretKey, "intake webhook endpoint secrets v1")
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// DeriveKey returns the 32-byte key for purpose derived (HKDF-SHA256, no
// salt) from secretKey, the instance's secret key: one key per purpose, so
// that none can stand in for another. A purpose is part of the format of
// what its key sealed or signed: renamed, the key changes and what was made
// before no longer opens or verifies.
func DeriveKey(secretKey, purpose string) ([]byte, error) {
	return hkdf.Key(sha256.New, []byte(secretKey), nil, purpose, 32)
}

// Seal returns plain encrypted, for storing, bound to owner (the
// endpoint's or form's public id): a sealed secret copied into another endpoint's row
// does not open there.
func (s *Sealer) Seal(plain, owner string) string {
	if s == nil || plain == "" {
		return plain
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), []byte(owner)))
}

// Open returns the secret stored as stored for owner. A secret stored
// before sealing was turned on is returned as it is. It returns ErrUnseal,
// also for a secret sealed for another owner.
func (s *Sealer) Open(stored, owner string) (string, error) {
	rest, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	if s == nil {
		return "", ErrUnseal
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", ErrUnseal
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(owner))
	if err != nil {
		return "", ErrUnseal
	}
	return string(plain), nil
}
