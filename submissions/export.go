package submissions

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
)

// ExportFormat is CSV, NDJSON or JSON.
type ExportFormat string

// Export formats, by their file extension. NDJSON is one submission a
// line, for programs that read a stream; JSONArray is one array of them, for
// people who open the file in a tool (the dashboard's export).
const (
	CSV       ExportFormat = "csv"
	NDJSON    ExportFormat = "ndjson"
	JSONArray ExportFormat = "json"
)

// ContentType is the media type of an export.
func (f ExportFormat) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case JSONArray:
		return "application/json"
	}
	return "application/x-ndjson"
}

// FileName is a download name for form's export made at now.
func (f ExportFormat) FileName(form *forms.Form, now time.Time) string {
	return fmt.Sprintf("%s-submissions-%s.%s", form.PublicID, now.UTC().Format("20060102"), f)
}

// MaxExtraColumns caps the columns a CSV export adds for data keys outside
// the form's contract. A form whose submissions carry more distinct names
// (a bot filling a honeypot form with random field names, say) gets the
// MaxExtraColumns names found in the most submissions, and the rest of each
// row's extra fields in one OtherColumn, as a JSON object.
const MaxExtraColumns = 500

// OtherColumn is the CSV column holding a row's data keys beyond the
// contract's fields and the MaxExtraColumns extra names, as a JSON object.
// It is there only when the selection has more extra names than that.
const OtherColumn = "_other"

// Exporter writes a form's submissions to a stream. It is prepared first
// (Prepare reads what the header needs), so a caller can answer an error
// with a proper status before the first byte of the file goes out.
type Exporter struct {
	format  ExportFormat
	form    *forms.Form
	filter  Filter
	columns []string        // data keys with a column, in order
	named   map[string]bool // the same, to look up
	other   bool            // the rest go in OtherColumn
}

// PrepareExport reads what an export of form's submissions selected by f
// needs before its first row: for CSV, the columns — the contract's fields
// in order, then the other data keys of the selection, sorted: all of
// them, or, past MaxExtraColumns, the MaxExtraColumns found in the most
// submissions (ties by name) and OtherColumn.
func PrepareExport(ctx context.Context, db database.Executor, format ExportFormat, form *forms.Form, f Filter) (*Exporter, error) {
	e := &Exporter{format: format, form: form, filter: f, named: map[string]bool{}}
	if format != CSV {
		return e, nil
	}
	for _, fld := range form.Contract.Fields {
		if !e.named[fld.Name] {
			e.named[fld.Name] = true
			e.columns = append(e.columns, fld.Name)
		}
	}
	// One more than the cap tells whether there are more.
	extra, err := ExtraKeys(ctx, db, f, e.columns, MaxExtraColumns+1)
	if err != nil {
		return nil, err
	}
	if len(extra) > MaxExtraColumns {
		// A data field named like OtherColumn goes inside it.
		extra = slices.DeleteFunc(extra, func(k string) bool { return k == OtherColumn })
		extra, e.other = extra[:MaxExtraColumns], true
	}
	slices.Sort(extra)
	for _, k := range extra {
		e.named[k] = true
		e.columns = append(e.columns, k)
	}
	return e, nil
}

// Write streams the export to w, newest first, read in pages (Export) and
// written row by row (bounded memory, no connection held while writing). every is called after the CSV header and
// after each 1,000 rows (to flush and extend a deadline); nil is fine. It returns how many rows it
// wrote and the first error.
func (e *Exporter) Write(ctx context.Context, db database.Executor, w io.Writer, every func() error) (int, error) {
	var write func(*Submission) error
	flush := func() error { return nil }
	end := flush // after the last row
	switch e.format {
	case CSV:
		cw := csvWriter{csv.NewWriter(w)}
		header := append([]string{"id", "created_at", "spam"}, e.columns...)
		if e.other {
			header = append(header, OtherColumn)
		}
		if err := cw.Write(header); err != nil {
			return 0, err
		}
		// The header out at once: the download starts while the rows are
		// read.
		if cw.Flush(); cw.Error() != nil {
			return 0, cw.Error()
		}
		if every != nil {
			if err := every(); err != nil {
				return 0, err
			}
		}
		row := make([]string, 0, len(header))
		write = func(sub *Submission) error {
			row = append(row[:0], sub.PublicID(), sub.CreatedAt.Format(time.RFC3339Nano), strconv.FormatBool(sub.Spam))
			data := sub.Data
			if len(sub.Files) > 0 {
				data = sub.JSON().Data // its file values carry their url
			}
			for _, c := range e.columns {
				row = append(row, Text(data[c], csvText))
			}
			if e.other {
				rest := map[string]any{}
				for k, v := range data {
					if !e.named[k] {
						rest[k] = v
					}
				}
				c := ""
				if len(rest) > 0 {
					b, err := json.Marshal(rest)
					if err != nil {
						return err
					}
					c = string(b)
				}
				row = append(row, c)
			}
			return cw.Write(row)
		}
		flush = func() error { cw.Flush(); return cw.Error() }
	case JSONArray:
		// An array, one submission a line: "[" before the first, a comma
		// before each other, "]" after the last.
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		sep := "[\n"
		write = func(sub *Submission) error {
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			sep = ","
			return enc.Encode(sub.JSON())
		}
		end = func() error {
			closing := "]\n"
			if sep != "," { // no row: an empty array
				closing = "[]\n"
			}
			_, err := io.WriteString(w, closing)
			return err
		}
	default:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		write = func(sub *Submission) error { return enc.Encode(sub.JSON()) }
	}
	n := 0
	err := Export(ctx, db, e.filter, func(sub *Submission) error {
		if err := write(sub); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			if err := flush(); err != nil {
				return err
			}
			if every != nil {
				return every()
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if err := end(); err != nil {
		return n, err
	}
	return n, flush()
}

// csvWriter writes records of cells each defused: the one place every CSV
// cell — header names (field names), values, file names, OtherColumn —
// passes through on its way out.
type csvWriter struct{ *csv.Writer }

func (w csvWriter) Write(record []string) error {
	for i, c := range record {
		record[i] = defuse(c)
	}
	return w.Writer.Write(record)
}

// plainNumber matches a number as a spreadsheet reads one.
var plainNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// defuse returns cell safe to open in a spreadsheet: text it would run as a
// formula (starting with =, +, -, @, tab or CR: OWASP's CSV injection) gets
// a leading quote. A plain number ("-5", "+1.5e3") is left as it is: a
// spreadsheet reads it as the number, never as a formula.
func defuse(cell string) string {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) || plainNumber.MatchString(cell) {
		return cell
	}
	return "'" + cell
}

// csvText is how a value reads in an export's cell: a list joined with
// "; " (the comma is CSV's own separator), a file by its name and its
// download route in the API ("cv.pdf (/api/v1/submissions/…/files/…)"), a
// missing value empty. (csvWriter defuses it.)
var csvText = TextStyle{ListSep: "; ", File: func(f map[string]any) string {
	if url, ok := f["url"].(string); ok {
		return fmt.Sprintf("%v (%s)", f["filename"], url)
	}
	return fmt.Sprint(f["filename"])
}}
