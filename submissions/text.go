package submissions

import (
	"encoding/json"
	"fmt"
	"strings"
)

// TextStyle is how Text writes the parts of a stored value that its
// readers show differently: each reader (the CSV export, the notification
// email, the dashboard) keeps its own style, so that they stay the one
// function and their differences stay visible.
type TextStyle struct {
	// ListSep joins a list's values.
	ListSep string
	// File is the text of a file, given its stored object (filename, size,
	// content_type, …).
	File func(file map[string]any) string
	// Null is the text of a JSON null (a missing field, or a null inside a
	// list).
	Null string
}

// Text returns a stored data value v as text in style: a string as it is,
// a number as it was sent, a list joined with style.ListSep, a file as
// style.File writes it, anything else as fmt.Sprint writes it.
func Text(v any, style TextStyle) string {
	switch v := v.(type) {
	case nil:
		return style.Null
	case string:
		return v
	case json.Number:
		return v.String()
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = Text(e, style)
		}
		return strings.Join(parts, style.ListSep)
	case map[string]any: // a file
		if style.File == nil {
			return fmt.Sprint(v["filename"])
		}
		return style.File(v)
	default:
		return fmt.Sprint(v)
	}
}
