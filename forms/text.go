package forms

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/intakehq/intake/internal/textcheck"
)

// checkText adds an error for every string of in that is not text the
// database stores as written: invalid UTF-8 or a NUL character. It walks
// every string member (by its JSON name, so the pointer is the API's), so
// a setting added later is checked without being listed here. The API
// refuses such text when it decodes a body; this is the check every other
// way in (the dashboard, the command line) meets too.
func checkText(in Input, errs *ValidationError) {
	walkText(reflect.ValueOf(in), nil, func(path []string, s string) {
		problem := textcheck.Problem(s)
		if problem == "" {
			return
		}
		field := path[0]
		switch {
		case path[0] == "fields" && len(path) > 1:
			if i, err := strconv.Atoi(path[1]); err == nil && i < len(in.Fields) && textcheck.Problem(in.Fields[i].Name) == "" {
				field = in.Fields[i].Name
			}
		case path[0] == "settings" && len(path) > 1:
			field = path[1]
		}
		errs.add(field, CodeInvalid, "text", strings.Join(path, ".")+" "+problem, Pointer(path...))
	})
}

// walkText calls fn with the JSON path of every string in v.
func walkText(v reflect.Value, path []string, fn func([]string, string)) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkText(v.Elem(), path, fn)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw JSON and bytes are not text members
		}
		for i := range v.Len() {
			walkText(v.Index(i), append(path[:len(path):len(path)], strconv.Itoa(i)), fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if !sf.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			walkText(v.Field(i), append(path[:len(path):len(path)], name), fn)
		}
	}
}
