package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
)

// Flash kinds.
const (
	flashSuccess = "success"
	flashError   = "error"
)

// flash is a one-time message shown on the page a redirect lands on. A
// secret (a new API key, a webhook secret) travels in it exactly once: the
// page that shows it deletes the cookie.
type flash struct {
	Kind        string `json:"k"`
	Message     string `json:"m"`
	Secret      string `json:"s,omitempty"`
	SecretLabel string `json:"l,omitempty"`
}

// flashKeyFor is derived from the session's token when there is one: only
// that browser holds it, so no one else can plant a message (or a
// "secret") in an owner's page, and every replica derives the same key.
func (d *Dashboard) flashKeyFor(r *http.Request) []byte {
	if t := state(r).token; t != "" {
		sum := sha256.Sum256([]byte("intake flash\x00" + t))
		return sum[:]
	}
	return d.flashKey
}

func flashAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// setFlash sets the one-time message, sealed (AES-256-GCM), not merely
// signed: a secret in it (a new API key, a webhook secret) is unreadable
// to anything that logs cookies on the way, since the cookie's path is
// the whole site.
func (d *Dashboard) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	payload, _ := json.Marshal(f)
	aead := flashAEAD(d.flashKeyFor(r))
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	value := base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, payload, []byte(flashCookie)))
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: value, Path: "/", MaxAge: 300,
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns the request's flash, if any, and deletes it.
func (d *Dashboard) takeFlash(w http.ResponseWriter, r *http.Request) flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return flash{}
	}
	d.clearCookie(w, flashCookie)
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	aead := flashAEAD(d.flashKeyFor(r))
	if err != nil || len(raw) < aead.NonceSize() {
		return flash{}
	}
	payload, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(flashCookie))
	var f flash
	if err != nil || json.Unmarshal(payload, &f) != nil {
		return flash{}
	}
	return f
}

// redirect ends a state change: a flash for the next page, then 303.
func (d *Dashboard) redirect(w http.ResponseWriter, r *http.Request, to string, f flash) {
	if f.Message != "" {
		d.setFlash(w, r, f)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
