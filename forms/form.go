package forms

import (
	"crypto/rand"
	"time"
)

// Form is a form an account receives submissions on.
type Form struct {
	ID         int64 // internal; never shown
	PublicID   string
	AccountID  int64
	Name       string
	Settings   Settings
	Contract   Contract
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ArchivedAt *time.Time

	captchaSecret string // sealed, as stored; "" when none
}

// Sealer encrypts secrets kept at rest, bound to an owner (a
// *seal.Sealer). A nil Sealer keeps them as they are.
type Sealer interface {
	Seal(plain, owner string) string
	Open(stored, owner string) (string, error)
}

// captchaOwner binds a sealed CAPTCHA secret to its form: copied into
// another form's row it does not open.
func captchaOwner(publicID string) string { return "form " + publicID + " captcha secret" }

// CaptchaSecret returns the form's CAPTCHA secret, opened with s, or ""
// when none is set. It returns the Sealer's error for a secret that does
// not open (INTAKE_SECRET_KEY changed).
func (f *Form) CaptchaSecret(s Sealer) (string, error) {
	if f.captchaSecret == "" || s == nil {
		return f.captchaSecret, nil
	}
	return s.Open(f.captchaSecret, captchaOwner(f.PublicID))
}

func sealCaptcha(s Sealer, plain, publicID string) string {
	if s == nil || plain == "" {
		return plain
	}
	return s.Seal(plain, captchaOwner(publicID))
}

// FieldType is the kind of input a field is.
type FieldType string

// The field types a contract may use.
const (
	TypeText     FieldType = "text"
	TypeEmail    FieldType = "email"
	TypeNumber   FieldType = "number"
	TypeURL      FieldType = "url"
	TypeTel      FieldType = "tel"
	TypeDate     FieldType = "date"
	TypeTextarea FieldType = "textarea"
	TypeSelect   FieldType = "select"
	TypeCheckbox FieldType = "checkbox"
	TypeHidden   FieldType = "hidden"
	TypeFile     FieldType = "file"
)

var fieldTypes = []FieldType{TypeText, TypeEmail, TypeNumber, TypeURL, TypeTel, TypeDate, TypeTextarea, TypeSelect, TypeCheckbox, TypeHidden, TypeFile}

// multiValued reports whether a field of type t may carry several values.
func (t FieldType) multiValued() bool { return t == TypeCheckbox || t == TypeFile }

// Field is one field of a contract.
type Field struct {
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
	Rules    string    `json:"rules,omitempty"` // a go-playground/validator tag string
	Label    string    `json:"label,omitempty"`
	Options  []string  `json:"options,omitempty"`
}

// Contract is a version of a form's field list.
type Contract struct {
	Version int
	Fields  []Field
}

// Field returns the contract's field called name.
func (c Contract) Field(name string) (Field, bool) {
	for _, f := range c.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// NewPublicID returns a random short public id: 8 characters of lower-case
// base32 (40 bits).
func NewPublicID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

// ValidPublicID reports whether s looks like a public form id.
func ValidPublicID(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
