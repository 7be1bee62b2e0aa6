// Package textcheck finds text that Intake would store differently from
// how it was sent, or not at all: invalid UTF-8 (which encoding/json
// silently turns into U+FFFD, and which Postgres refuses in text columns)
// and NUL characters (which Postgres refuses in text and jsonb). Every
// edge that accepts text asks it before anything is decoded or stored, so
// such input is a 400/422 naming where it was, never a 500 and never a
// silent change (docs/errors.md).
package textcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem says what is wrong with s as text ("is not valid UTF-8",
// "contains a NUL character"), or "" when nothing is.
func Problem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL character (U+0000)"
	}
	return ""
}

// JSONError names the member of a JSON document whose text is wrong.
type JSONError struct {
	// Pointer is the member as an RFC 9457 JSON pointer ("#/fields/0/label";
	// "#" is the document itself).
	Pointer string
	// Key is set when the member's name is wrong rather than its value.
	Key bool
	// Problem is what Problem said of the text.
	Problem string
	// Offset is the byte of the document where the token holding the text
	// begins (counting the separator before it).
	Offset int64
}

func (e *JSONError) Error() string {
	if e.Key {
		return fmt.Sprintf("the name of member %s %s (at byte %d)", e.Pointer, e.Problem, e.Offset)
	}
	return fmt.Sprintf("member %s %s (at byte %d)", e.Pointer, e.Problem, e.Offset)
}

var escapedNUL = []byte(`\u0000`)

// JSON returns a *JSONError for the first string or member name of doc that
// is not valid UTF-8 or holds a NUL character (written \u0000), or nil.
// prefix is the pointer of the document within a larger one ("" for the
// whole request). A document that is not JSON is left to its decoder to
// refuse: JSON returns nil for it unless a bad string comes before the
// syntax error.
//
// Text that is fine costs one pass of utf8.Valid and one bytes.Index; only
// a document with something to report is walked token by token.
func JSON(doc []byte, prefix string) *JSONError {
	bad := int64(-1)
	if !utf8.Valid(doc) {
		bad = int64(firstInvalid(doc))
	}
	if bad < 0 && !bytes.Contains(doc, escapedNUL) {
		return nil
	}
	return walk(doc, prefix, bad)
}

// firstInvalid is the offset of the first byte of doc that does not start
// valid UTF-8.
func firstInvalid(doc []byte) int {
	for i := 0; i < len(doc); {
		r, size := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// frame is one open object or array while walking.
type frame struct {
	array bool
	index int    // the next element's index (arrays)
	key   string // the current member's name (objects)
	atKey bool   // the next string is a member name (objects)
}

func walk(doc []byte, prefix string, bad int64) *JSONError {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var stack []frame
	// path is the pointer of the current value, or with a member name, of
	// that member of the innermost object.
	path := func(member ...string) string {
		frames := stack
		if len(member) > 0 {
			frames = stack[:len(stack)-1]
		}
		segs := []string{}
		for _, f := range frames {
			if f.array {
				segs = append(segs, strconv.Itoa(f.index))
			} else {
				segs = append(segs, f.key)
			}
		}
		return pointer(prefix, append(segs, member...))
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or not JSON: the decoder says where
		}
		end := dec.InputOffset()
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				stack = append(stack, frame{array: d == '[', atKey: d == '{'})
				continue
			default:
				stack = stack[:len(stack)-1]
				advance(stack)
				continue
			}
		}
		s, isString := tok.(string)
		key := len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].atKey
		if isString {
			problem := ""
			if bad >= start && bad < end {
				problem = "is not valid UTF-8"
			} else if strings.IndexByte(s, 0) >= 0 {
				problem = "contains a NUL character (U+0000)"
			}
			if problem != "" {
				e := &JSONError{Problem: problem, Offset: start, Key: key}
				if key {
					e.Pointer = path(s)
				} else {
					e.Pointer = path()
				}
				return e
			}
		}
		if key {
			top := &stack[len(stack)-1]
			top.key, top.atKey = s, false
			continue
		}
		advance(stack)
	}
}

// advance moves the innermost frame past a value just read.
func advance(stack []frame) {
	if len(stack) == 0 {
		return
	}
	top := &stack[len(stack)-1]
	if top.array {
		top.index++
	} else {
		top.atKey = true
	}
}

// pointer builds "#/a/b" from segments, escaped per RFC 6901; text that
// could not be shown as it is (the bad text itself) is shown escaped.
func pointer(prefix string, segs []string) string {
	var b strings.Builder
	b.WriteString("#")
	if prefix != "" {
		b.WriteString("/")
		b.WriteString(prefix)
	}
	esc := strings.NewReplacer("~", "~0", "/", "~1", "\x00", `\u0000`)
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(esc.Replace(strings.ToValidUTF8(s, "\uFFFD")))
	}
	return b.String()
}
