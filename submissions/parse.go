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
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/textcheck"
)

// Limits bound what Parse reads.
type Limits struct {
	MaxBody   int64 // bytes of a body without files
	MaxFiles  int64 // bytes of all files in a multipart body
	MaxFields int   // distinct field names
	// MaxParts and MaxFileParts bound the parts of a multipart body, and
	// those of them that are files; 0 is DefaultMaxParts and
	// DefaultMaxFileParts. They are counted as the parts arrive, so a body
	// over them is refused having read no more than the part that crossed
	// the limit's headers.
	MaxParts     int
	MaxFileParts int
}

// The default part counts of a multipart body (docs/SECURITY.md).
const (
	DefaultMaxParts     = 1000
	DefaultMaxFileParts = 20
	// partHeaderAllowance is what each part may spend on its headers and
	// boundary, on top of MaxBody and MaxFiles.
	partHeaderAllowance = 1 << 10
)

// DefaultLimits are the limits of the public endpoint.
var DefaultLimits = Limits{MaxBody: 1 << 20, MaxFiles: 10 << 20, MaxFields: 500, MaxParts: DefaultMaxParts, MaxFileParts: DefaultMaxFileParts}

func (l Limits) parts() int {
	if l.MaxParts <= 0 {
		return DefaultMaxParts
	}
	return l.MaxParts
}

func (l Limits) fileParts() int {
	if l.MaxFileParts <= 0 {
		return DefaultMaxFileParts
	}
	return l.MaxFileParts
}

// BodyLimit is the most a body of contentType may hold in all: MaxBody,
// and for a multipart body the files and each part's headers besides.
func (l Limits) BodyLimit(contentType string) int64 {
	if mt, _, _ := mime.ParseMediaType(contentType); strings.HasPrefix(mt, "multipart/") {
		return l.MaxBody + l.MaxFiles + int64(l.parts())*partHeaderAllowance
	}
	return l.MaxBody
}

var (
	// ErrUnsupportedMediaType is returned for a body that is not
	// urlencoded, multipart or JSON.
	ErrUnsupportedMediaType error = &intake.Error{Kind: intake.Unsupported, Type: intake.TypeUnsupportedMedia, Msg: "unsupported media type",
		Title: "Unsupported media type", Detail: "Send application/x-www-form-urlencoded, multipart/form-data or application/json."}
	// ErrTooLarge is returned for a body over Limits.MaxBody.
	ErrTooLarge error = &intake.Error{Kind: intake.TooLarge, Type: intake.TypeTooLarge, Msg: "body too large",
		Title: "Payload too large", Detail: "The body exceeds 1 MiB (files not counted).", Code: "FILES_TOO_BIG"}
	// ErrFilesTooBig is returned when the files of a multipart body exceed Limits.MaxFiles.
	ErrFilesTooBig error = &intake.Error{Kind: intake.TooLarge, Type: intake.TypeTooLarge, Msg: "files too big",
		Title: "Files too big", Detail: "The uploaded files exceed 10 MiB in all.", Code: "FILES_TOO_BIG"}
	// ErrBodyTimeout is returned when the body did not arrive in time: the
	// reader's deadline (the HTTP server's ReadTimeout) passed while it
	// was being read. It is the client's doing, not the server's, so it is
	// never a 503 even though a deadline passed.
	ErrBodyTimeout error = &intake.Error{Kind: intake.Timeout, Type: intake.TypeRequestTimeout, Msg: "the body was not received in time",
		Title: "Request timeout", Code: "REQUEST_TIMEOUT",
		Detail: "The body was not received in time: the connection sent it too slowly. Nothing was stored; send it again (the same Idempotency-Key may be reused).",
		Hint:   "Check your connection and send the form again; it will not be stored twice."}
)

// TooManyPartsError is returned for a multipart body with more parts, or
// more files, than Limits allow.
type TooManyPartsError struct {
	Files bool // the files' limit (MaxFileParts), not the parts' (MaxParts)
	Limit int
}

// Describe says which limit the body went over.
func (e *TooManyPartsError) Describe() *intake.Error {
	d := &intake.Error{Kind: intake.TooLarge, Type: intake.TypeTooLarge, Msg: e.Error(), Title: "Too many parts", Code: "TOO_MANY_PARTS",
		Detail: fmt.Sprintf("The multipart body has more than %d parts; send at most %d fields and files in all.", e.Limit, e.Limit)}
	if e.Files {
		d.Title, d.Code = "Too many files", "TOO_MANY_FILES"
		d.Detail = fmt.Sprintf("The body has more than %d files; send at most %d.", e.Limit, e.Limit)
	}
	return d
}

func (e *TooManyPartsError) Error() string {
	if e.Files {
		return fmt.Sprintf("more than %d files", e.Limit)
	}
	return fmt.Sprintf("more than %d multipart parts", e.Limit)
}

// MalformedError is returned for a body that cannot be read as its media
// type says; Detail says where.
type MalformedError struct{ Detail string }

func (e *MalformedError) Error() string { return "malformed body: " + e.Detail }

// Describe says where the body could not be read.
func (e *MalformedError) Describe() *intake.Error {
	return &intake.Error{Kind: intake.Malformed, Type: intake.TypeMalformed, Msg: e.Error(),
		Title: "Malformed request", Detail: "The body could not be read: " + e.Detail + "."}
}

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
	// JSON says the body was JSON (what keyless_json_window looks at: a
	// form post answered in JSON mode is not JSON).
	JSON bool

	index map[string]int // Fields by name, while parsing
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

// add appends v to the field called name, or adds that field; it reports
// false, adding nothing, when that would make more fields than lim allows.
func (p *Payload) add(name string, v Value, list bool, lim Limits) bool {
	if i, ok := p.index[name]; ok {
		f := &p.Fields[i]
		f.Values = append(f.Values, v)
		f.List = f.List || list
		return true
	}
	if len(p.Fields) >= lim.MaxFields {
		return false
	}
	if p.index == nil {
		p.index = map[string]int{}
	}
	p.index[name] = len(p.Fields)
	p.Fields = append(p.Fields, Field{Name: name, Values: []Value{v}, List: list})
	return true
}

// Parse reads a submission body of the given Content-Type. It returns
// ErrUnsupportedMediaType, ErrTooLarge, ErrFilesTooBig, a
// *TooManyPartsError, ErrBodyTimeout or a *MalformedError; the limits hold
// while the body is read, so a body over one is refused at the point it
// crosses it.
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
		p, err = parseMultipart(&limitedReader{r: body, n: lim.BodyLimit(contentType)}, params["boundary"], lim)
	default:
		return nil, ErrUnsupportedMediaType
	}
	if err != nil {
		return nil, err
	}
	p.JSON = mediaType == "application/json"
	p.index = nil
	for _, f := range p.Fields {
		if err := checkText(f.Name, "field name"); err != nil {
			return nil, err
		}
		for _, v := range f.Values {
			if err := checkText(v.Text, "field "+f.Name); err != nil {
				return nil, err
			}
			if v.File != nil {
				if err := checkText(v.File.ContentType, "the Content-Type of file "+f.Name); err != nil {
					return nil, err
				}
			}
		}
	}
	return p, nil
}

func checkText(s, where string) error {
	if problem := textcheck.Problem(s); problem != "" {
		return malformed("%s %s", where, problem)
	}
	return nil
}

// tooManyFields is the error of a body with more than lim.MaxFields
// distinct names; it is returned as soon as the name over the limit is
// read.
func tooManyFields(lim Limits) error { return malformed("more than %d fields", lim.MaxFields) }

// readError turns an error reading the body into the client's: too slow
// (ErrBodyTimeout), or gone before it was all sent (malformed). Without
// this a deadline's net.Error would read as the database's outage. Other
// errors (an http.MaxBytesError) are returned as they are.
func readError(err error) error {
	var (
		netErr   interface{ Timeout() bool }
		maxBytes *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxBytes):
		// The edge's bound (http.MaxBytesReader, at BodyLimit) is this
		// package's limit too: the same refusal, described here.
		return ErrTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return ErrBodyTimeout
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &netErr):
		return malformed("the body ended before it was all sent")
	}
	return err
}

// limitedReader reads at most n bytes from r, and ErrTooLarge after.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		err = readError(err)
	}
	return n, err
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, readError(err)
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
		if !p.add(name, Value{Text: value}, false, lim) {
			return nil, tooManyFields(lim)
		}
	}
	return p, nil
}

func parseJSON(body io.Reader, lim Limits) (*Payload, error) {
	b, err := readLimited(body, lim.MaxBody)
	if err != nil {
		return nil, err
	}
	// encoding/json would read invalid UTF-8 as U+FFFD: the text stored
	// would not be the text sent, and a body with \xff would count as the
	// same payload as one with a real U+FFFD. Refused before decoding.
	if e := textcheck.JSON(b, ""); e != nil {
		return nil, malformed("%v", e)
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
				if !p.add(name, Value{}, true, lim) {
					return nil, tooManyFields(lim)
				}
				f := &p.Fields[len(p.Fields)-1]
				f.Values = nil // an empty list: the field, without values
				continue
			}
			for i, e := range v {
				sv, ok := scalar(e)
				if !ok {
					return nil, malformed("field %s[%d]: arrays may hold only strings, numbers and booleans", name, i)
				}
				if !p.add(name, sv, true, lim) {
					return nil, tooManyFields(lim)
				}
			}
		default:
			sv, ok := scalar(v)
			if !ok {
				return nil, malformed("field %s: nested objects, numbers beyond ±1.8e308 and numbers with more than 16383 digits after the point are not supported; send strings, numbers, booleans or arrays of them", name)
			}
			if !p.add(name, sv, false, lim) {
				return nil, tooManyFields(lim)
			}
		}
	}
	return p, nil
}

// maxNumericScale is the most digits after the point Postgres' numeric
// keeps; a JSON number written with more (1e-16384, 0.000…1, 1.000…0) is
// refused by the database, though ParseFloat takes it (as 0, or 1).
const maxNumericScale = 16383

// numericScaleOK reports whether n, a JSON number, has at most
// maxNumericScale digits after the point once its exponent is applied.
func numericScaleOK(n string) bool {
	mantissa, exp, hasExp := strings.Cut(strings.ToLower(n), "e")
	e := int64(0)
	if hasExp {
		var err error
		if e, err = strconv.ParseInt(exp, 10, 64); err != nil || e > 1_000_000 || e < -1_000_000 {
			return false // Postgres refuses 0e1073741823 (and a non-zero number that large is past float64)
		}
	}
	_, frac, _ := strings.Cut(mantissa, ".")
	return int64(len(frac))-e <= maxNumericScale
}

func scalar(v any) (Value, bool) {
	switch v := v.(type) {
	case string:
		return Value{Text: v}, true
	case json.Number:
		// Postgres' numeric (and so jsonb) stores any float64 written with
		// at most 16383 digits after the point; beyond either the insert
		// would fail (a 500), so such a number is refused here.
		if _, err := strconv.ParseFloat(v.String(), 64); err != nil || !numericScaleOK(v.String()) {
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

// parseMultipart reads the parts one by one (never ParseMultipartForm,
// which would take them all first), counting them as they come: the part
// over Limits.MaxParts or MaxFileParts is refused having read its headers
// only.
func parseMultipart(body io.Reader, boundary string, lim Limits) (*Payload, error) {
	if boundary == "" {
		return nil, malformed("multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	p := &Payload{}
	var textBytes, fileBytes int64
	var parts, files int
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return nil, asMultipartErr(err)
		}
		if parts++; parts > lim.parts() {
			return nil, &TooManyPartsError{Limit: lim.parts()}
		}
		if err := checkPartHeader(part); err != nil {
			return nil, err
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
			if !p.add(name, Value{Text: string(b)}, false, lim) {
				return nil, tooManyFields(lim)
			}
			continue
		}
		if files++; files > lim.fileParts() {
			return nil, &TooManyPartsError{Files: true, Limit: lim.fileParts()}
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
		if !p.add(name, Value{Text: f.Name, Kind: KindFile, File: f}, false, lim) {
			return nil, tooManyFields(lim)
		}
	}
}

// checkPartHeader refuses a part whose headers are not text (invalid
// UTF-8, NUL): the field name, the file name and its Content-Type are
// stored, and the database takes only text.
func checkPartHeader(part *multipart.Part) error {
	for _, name := range []string{"Content-Disposition", "Content-Type"} {
		for _, v := range part.Header.Values(name) {
			if problem := textcheck.Problem(v); problem != "" {
				return malformed("the %s header of a multipart part %s", name, problem)
			}
		}
	}
	return nil
}

func asMultipartErr(err error) error {
	var mal *MalformedError
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrBodyTimeout) || errors.As(err, &mal) {
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
