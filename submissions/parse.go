package submissions

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits bound what Parse reads.
type Limits struct {
	MaxBody   int64 // bytes of a body without files
	MaxFiles  int64 // bytes of all files in a multipart body
	MaxFields int   // distinct field names
}

// DefaultLimits are the limits of the public endpoint.
var DefaultLimits = Limits{MaxBody: 1 << 20, MaxFiles: 10 << 20, MaxFields: 500}

var (
	// ErrUnsupportedMediaType is returned for a body that is not
	// urlencoded, multipart or JSON.
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrTooLarge is returned for a body over Limits.MaxBody.
	ErrTooLarge = errors.New("body too large")
	// ErrFilesTooBig is returned when the files of a multipart body exceed Limits.MaxFiles.
	ErrFilesTooBig = errors.New("files too big")
)

// MalformedError is returned for a body that cannot be read as its media
// type says; Detail says where.
type MalformedError struct{ Detail string }

func (e *MalformedError) Error() string { return "malformed body: " + e.Detail }

func malformed(format string, args ...any) error {
	return &MalformedError{Detail: fmt.Sprintf(format, args...)}
}

// Kind is the JSON type a value was sent as.
type Kind uint8

// Value kinds.
const (
	KindString Kind = iota
	KindNumber
	KindBool
	KindFile
)

// Value is one submitted value.
type Value struct {
	Text string // the string, the number as written, "true"/"false", or a file's name
	Kind Kind
	File *File
}

// File is an uploaded file.
type File struct {
	Name        string
	ContentType string
	Size        int64
	SHA256      string // hex
	Content     []byte
}

// Field is one submitted field with all its values.
type Field struct {
	Name   string
	Values []Value
	List   bool // sent as a JSON array
}

// Payload is a parsed submission body: its fields in the order first sent.
type Payload struct {
	Fields []Field
}

// Get returns the field called name.
func (p *Payload) Get(name string) (*Field, bool) {
	for i := range p.Fields {
		if p.Fields[i].Name == name {
			return &p.Fields[i], true
		}
	}
	return nil, false
}

// First returns the first value of field name as text, or "".
func (p *Payload) First(name string) string {
	if f, ok := p.Get(name); ok && len(f.Values) > 0 {
		return f.Values[0].Text
	}
	return ""
}

func (p *Payload) add(name string, v Value, list bool) {
	if f, ok := p.Get(name); ok {
		f.Values = append(f.Values, v)
		f.List = f.List || list
		return
	}
	p.Fields = append(p.Fields, Field{Name: name, Values: []Value{v}, List: list})
}

// Parse reads a submission body of the given Content-Type. It returns
// ErrUnsupportedMediaType, ErrTooLarge, ErrFilesTooBig or a *MalformedError.
// Text must be valid UTF-8 without NUL characters (Postgres' jsonb stores
// neither), so such a body is malformed rather than silently altered.
func Parse(contentType string, body io.Reader, lim Limits) (*Payload, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, ErrUnsupportedMediaType
	}
	var p *Payload
	switch mediaType {
	case "application/x-www-form-urlencoded":
		p, err = parseURLEncoded(body, lim)
	case "application/json":
		p, err = parseJSON(body, lim)
	case "multipart/form-data":
		p, err = parseMultipart(body, params["boundary"], lim)
	default:
		return nil, ErrUnsupportedMediaType
	}
	if err != nil {
		return nil, err
	}
	if len(p.Fields) > lim.MaxFields {
		return nil, malformed("more than %d fields", lim.MaxFields)
	}
	for _, f := range p.Fields {
		if err := checkText(f.Name, "field name"); err != nil {
			return nil, err
		}
		for _, v := range f.Values {
			if err := checkText(v.Text, "field "+f.Name); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func checkText(s, where string) error {
	if !utf8.ValidString(s) {
		return malformed("%s is not valid UTF-8", where)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return malformed("%s contains a NUL character", where)
	}
	return nil
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, ErrTooLarge
	}
	return b, nil
}

func parseURLEncoded(body io.Reader, lim Limits) (*Payload, error) {
	b, err := readLimited(body, lim.MaxBody)
	if err != nil {
		return nil, err
	}
	p := &Payload{}
	for pair := range strings.SplitSeq(string(b), "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, malformed("bad percent-encoding in %q", truncate(pair, 40))
		}
		if name == "" {
			continue
		}
		p.add(name, Value{Text: value}, false)
	}
	return p, nil
}

func parseJSON(body io.Reader, lim Limits) (*Payload, error) {
	b, err := readLimited(body, lim.MaxBody)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, malformed("invalid JSON at byte %d: %v", syn.Offset, syn)
		case errors.As(err, &typ):
			return nil, malformed("the body must be a JSON object, not %s", typ.Value)
		case errors.Is(err, io.EOF):
			return nil, malformed("the body is empty; send a JSON object")
		default:
			return nil, malformed("invalid JSON: %v", err)
		}
	}
	if obj == nil {
		return nil, malformed("the body must be a JSON object, not null")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("unexpected data after the JSON object")
	}
	p := &Payload{}
	// Go's maps are unordered; sort so the stored order is stable.
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		if name == "" {
			continue
		}
		switch v := obj[name].(type) {
		case nil:
			continue // a null is a field not sent
		case []any:
			if len(v) == 0 {
				p.Fields = append(p.Fields, Field{Name: name, List: true})
				continue
			}
			for i, e := range v {
				sv, ok := scalar(e)
				if !ok {
					return nil, malformed("field %s[%d]: arrays may hold only strings, numbers and booleans", name, i)
				}
				p.add(name, sv, true)
			}
		default:
			sv, ok := scalar(v)
			if !ok {
				return nil, malformed("field %s: nested objects and numbers beyond ±1.8e308 are not supported; send strings, numbers, booleans or arrays of them", name)
			}
			p.add(name, sv, false)
		}
	}
	return p, nil
}

func scalar(v any) (Value, bool) {
	switch v := v.(type) {
	case string:
		return Value{Text: v}, true
	case json.Number:
		// Postgres' numeric (and so jsonb) stores any float64; beyond that
		// the insert would fail, so such a number is refused here.
		if _, err := strconv.ParseFloat(v.String(), 64); err != nil {
			return Value{}, false
		}
		return Value{Text: v.String(), Kind: KindNumber}, true
	case bool:
		if v {
			return Value{Text: "true", Kind: KindBool}, true
		}
		return Value{Text: "false", Kind: KindBool}, true
	}
	return Value{}, false
}

func parseMultipart(body io.Reader, boundary string, lim Limits) (*Payload, error) {
	if boundary == "" {
		return nil, malformed("multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	p := &Payload{}
	var textBytes, fileBytes int64
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return nil, malformed("multipart: %v", err)
		}
		name := part.FormName()
		if name == "" {
			part.Close()
			continue
		}
		if part.FileName() == "" {
			b, err := readLimited(part, lim.MaxBody-textBytes)
			if err != nil {
				return nil, asMultipartErr(err)
			}
			textBytes += int64(len(b))
			p.add(name, Value{Text: string(b)}, false)
			continue
		}
		b, err := readLimited(part, lim.MaxFiles-fileBytes)
		if errors.Is(err, ErrTooLarge) {
			return nil, ErrFilesTooBig
		}
		if err != nil {
			return nil, asMultipartErr(err)
		}
		fileBytes += int64(len(b))
		sum := sha256.Sum256(b)
		f := &File{
			Name:        part.FileName(),
			ContentType: part.Header.Get("Content-Type"),
			Size:        int64(len(b)),
			SHA256:      hex.EncodeToString(sum[:]),
			Content:     b,
		}
		if f.ContentType == "" {
			f.ContentType = "application/octet-stream"
		}
		p.add(name, Value{Text: f.Name, Kind: KindFile, File: f}, false)
	}
}

func asMultipartErr(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	return malformed("multipart: %v", err)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
