package idempotency

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// Field is one submitted field in canonical form: every value as text
// (numbers as written, booleans as true/false, files as "sha256:<hex>").
type Field struct {
	Name   string
	Values []string
}

// Fingerprint is SHA-256 over a canonical encoding of fields: names sorted,
// values in the order sent, every string length-prefixed (so no two field
// sets share an encoding). The same fields sent urlencoded, as multipart or
// as JSON have the same fingerprint. Callers pass each name once.
func Fingerprint(fields []Field) []byte {
	sorted := slices.SortedFunc(slices.Values(fields), func(a, b Field) int { return cmp.Compare(a.Name, b.Name) })
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(sorted)))])
	for _, f := range sorted {
		writeString(h, f.Name)
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f.Values)))])
		for _, v := range f.Values {
			writeString(h, v)
		}
	}
	return h.Sum(nil)
}
