package forms_test

import (
	"testing"

	"github.com/intakehq/intake/forms"
)

// FuzzRules: any rule string either is refused when the form is saved or
// checks every kind of value without panicking (a panic would be a 500 on
// someone's public endpoint).
func FuzzRules(f *testing.F) {
	for _, s := range []string{"required", "max=500", "gte=18,lte=130", "oneof=a b", "notatag", "max=", "dive,required", "email|url", "required_if=x 1", "len=3", "startswith=ab", "excludesall=,", "omitempty,min=2"} {
		f.Add(s, "text", "value")
		f.Add(s, "number", "12.5")
		f.Add(s, "checkbox", "a")
	}
	val := forms.NewValidator()
	f.Fuzz(func(t *testing.T, rules, typ, value string) {
		field := forms.Field{Name: "f", Type: forms.FieldType(typ), Rules: rules}
		if typ == "select" {
			field.Options = []string{"a"}
		}
		if val.CheckFields([]forms.Field{field}) != nil {
			return
		}
		c := forms.Contract{Version: 1, Fields: []forms.Field{field}}
		for _, v := range []forms.Value{{Texts: []string{value}}, {Texts: []string{value, value}, List: true}, {Texts: []string{""}}} {
			_ = val.Check(c, forms.UnknownAccept, map[string]forms.Value{"f": v})
		}
	})
}
