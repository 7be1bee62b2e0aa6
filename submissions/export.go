package submissions

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/forms"
)

// ExportFormat is CSV or NDJSON.
type ExportFormat string

// Export formats, by their file extension.
const (
	CSV    ExportFormat = "csv"
	NDJSON ExportFormat = "ndjson"
)

// ContentType is the media type of an export.
func (f ExportFormat) ContentType() string {
	if f == CSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// FileName is a download name for form's export made at now.
func (f ExportFormat) FileName(form *forms.Form, now time.Time) string {
	return fmt.Sprintf("%s-submissions-%s.%s", form.PublicID, now.UTC().Format("20060102"), f)
}

// Exporter writes a form's submissions to a stream. It is prepared first
// (Prepare reads what the header needs), so a caller can answer an error
// with a proper status before the first byte of the file goes out.
type Exporter struct {
	format  ExportFormat
	form    *forms.Form
	filter  Filter
	columns []string
}

// PrepareExport reads what an export of form's submissions selected by f
// needs before its first row: for CSV, the columns — the contract's fields
// in order, then every other data key of the selection, sorted.
func PrepareExport(ctx context.Context, db database.Executor, format ExportFormat, form *forms.Form, f Filter) (*Exporter, error) {
	e := &Exporter{format: format, form: form, filter: f}
	if format != CSV {
		return e, nil
	}
	keys, err := DataKeys(ctx, db, f)
	if err != nil {
		return nil, err
	}
	for _, fld := range form.Contract.Fields {
		e.columns = append(e.columns, fld.Name)
	}
	for _, k := range keys {
		if !slices.Contains(e.columns, k) {
			e.columns = append(e.columns, k)
		}
	}
	return e, nil
}

// Write streams the export to w, newest first, rows going from Postgres to
// w one by one (constant memory). every is called after each 1,000 rows (to
// flush and extend a deadline); nil is fine. It returns how many rows it
// wrote and the first error.
func (e *Exporter) Write(ctx context.Context, db database.Executor, w io.Writer, every func() error) (int, error) {
	var write func(*Submission) error
	flush := func() error { return nil }
	switch e.format {
	case CSV:
		cw := csv.NewWriter(w)
		header := append([]string{"id", "created_at", "spam"}, e.columns...)
		if err := cw.Write(header); err != nil {
			return 0, err
		}
		write = func(sub *Submission) error {
			row := make([]string, 0, len(header))
			row = append(row, sub.PublicID(), sub.CreatedAt.Format(time.RFC3339Nano), strconv.FormatBool(sub.Spam))
			for _, c := range e.columns {
				row = append(row, cell(sub.Data[c]))
			}
			return cw.Write(row)
		}
		flush = func() error { cw.Flush(); return cw.Error() }
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
	return n, flush()
}

// cell is a data value in a CSV cell: lists joined with "; ", files by
// name. Text a spreadsheet would run as a formula (=, +, -, @, tab, CR at
// the start: OWASP's CSV injection) gets a leading quote.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			return "'" + v
		}
		return v
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = cell(e)
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		return fmt.Sprint(v["filename"])
	default:
		return fmt.Sprint(v)
	}
}
