package forms

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/go-playground/locales/en"
	ut "github.com/go-playground/universal-translator"
	"github.com/go-playground/validator/v10"
	entranslations "github.com/go-playground/validator/v10/translations/en"
)

// Validator checks contracts and submissions with go-playground/validator.
// Make one at start-up and share it: registering translations is not safe
// for concurrent use, validating is.
type Validator struct {
	v     *validator.Validate
	trans ut.Translator
}

// NewValidator returns a Validator with English messages.
func NewValidator() *Validator {
	v := validator.New()
	trans, _ := ut.New(en.New()).GetTranslator("en")
	if err := entranslations.RegisterDefaultTranslations(v, trans); err != nil {
		panic(err) // only a broken validator release gets here
	}
	return &Validator{v: v, trans: trans}
}

// Limits on a contract.
const (
	MaxFields      = 200
	MaxNameLength  = 200
	MaxRulesLength = 500
)

var fieldName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-\[\] ]{0,199}$`)

// Cross-field tags look at a parent struct, which a single form value does
// not have.
var crossFieldTag = regexp.MustCompile(`(^|[,|])\s*(required_|excluded_|skip_unless|eqcsfield|necsfield|gtcsfield|gtecsfield|ltcsfield|ltecsfield|eqfield|nefield|gtfield|gtefield|ltfield|ltefield|fieldcontains|fieldexcludes)`)

// CheckFields returns a *ValidationError describing every problem with a
// field list being saved: names, types, options and rule strings. Rule
// strings are dry-run here, because an unknown validator tag panics.
func (val *Validator) CheckFields(fields []Field) error {
	errs := &ValidationError{}
	val.checkFields(fields, errs)
	return errs.orNil()
}

func (val *Validator) checkFields(fields []Field, errs *ValidationError) {
	if len(fields) > MaxFields {
		errs.add("fields", CodeInvalid, "max", fmt.Sprintf("a form has at most %d fields", MaxFields), Pointer("fields"))
		return
	}
	seen := map[string]bool{}
	for i, f := range fields {
		at := func(member string) string { return Pointer("fields", strconv.Itoa(i), member) }
		switch {
		case !fieldName.MatchString(f.Name):
			errs.add(f.Name, CodeInvalid, "name", fmt.Sprintf("fields[%d].name must be 1–200 letters, digits, spaces or _ . - [ ], starting with a letter or digit", i), at("name"))
		case seen[f.Name]:
			errs.add(f.Name, CodeInvalid, "unique", fmt.Sprintf("fields[%d].name %q is used twice", i, f.Name), at("name"))
		}
		seen[f.Name] = true
		if !slices.Contains(fieldTypes, f.Type) {
			errs.add(f.Name, CodeInvalid, "type", fmt.Sprintf("fields[%d].type must be one of %s", i, typeList()), at("type"))
			continue
		}
		if len(f.Label) > MaxNameLength {
			errs.add(f.Name, CodeInvalid, "max", fmt.Sprintf("fields[%d].label is longer than %d characters", i, MaxNameLength), at("label"))
		}
		if f.Type == TypeSelect && len(f.Options) == 0 {
			errs.add(f.Name, CodeInvalid, "options", fmt.Sprintf("fields[%d] is a select and needs options", i), at("options"))
		}
		if f.Rules != "" {
			if msg := val.checkRules(f); msg != "" {
				errs.add(f.Name, CodeInvalid, "rules", fmt.Sprintf("fields[%d].rules %q: %s", i, f.Rules, msg), at("rules"))
			}
		}
	}
}

func typeList() string {
	names := make([]string, len(fieldTypes))
	for i, t := range fieldTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// checkRules dry-runs f's rules on sample values of the kind the field's type
// produces and returns what is wrong, or "".
func (val *Validator) checkRules(f Field) (problem string) {
	if len(f.Rules) > MaxRulesLength {
		return fmt.Sprintf("rules are longer than %d characters", MaxRulesLength)
	}
	if crossFieldTag.MatchString(f.Rules) {
		return "rules that compare with other fields (eqfield, required_if, …) are not supported; use one field's own rules"
	}
	defer func() {
		if r := recover(); r != nil {
			problem = fmt.Sprintf("not a valid validator rule string (%v); see https://pkg.go.dev/github.com/go-playground/validator/v10 for the rules", r)
		}
	}()
	for _, sample := range samples(f.Type) {
		_ = val.v.Var(sample, f.Rules)
	}
	return ""
}

func samples(t FieldType) []any {
	switch {
	case t == TypeNumber:
		return []any{float64(0), float64(12.5)}
	case t.multiValued():
		return []any{[]string{}, []string{"a", ""}}
	default:
		return []any{"", "sample text"}
	}
}

// Value is what a submission carries for one field, as a contract sees it.
type Value struct {
	Texts []string // each value as text (numbers in their literal form, files by name)
	List  bool     // sent as a JSON array
}

// Check validates a submission's values (reserved fields already removed)
// against contract c under policy unknown. It returns nil or a
// *ValidationError with a field error per problem, in contract order.
func (val *Validator) Check(c Contract, unknown string, values map[string]Value) error {
	errs := &ValidationError{}
	for _, f := range c.Fields {
		val.checkValue(f, values[f.Name], hasKey(values, f.Name), errs)
	}
	if unknown == UnknownReject {
		for _, name := range slices.Sorted(maps.Keys(values)) {
			if _, ok := c.Field(name); !ok {
				errs.add(name, CodeUnexpected, "", fmt.Sprintf("%s is not a field of this form", name), Pointer(name))
			}
		}
	}
	return errs.orNil()
}

func hasKey(m map[string]Value, k string) bool { _, ok := m[k]; return ok }

func (val *Validator) checkValue(f Field, v Value, present bool, errs *ValidationError) {
	label := f.Name
	empty := len(v.Texts) == 0 || !slices.ContainsFunc(v.Texts, func(s string) bool { return strings.TrimSpace(s) != "" })
	required := f.Required || ruleNamed(f.Rules, "required")
	switch {
	case required && !present:
		errs.add(f.Name, CodeRequiredMissing, "required", label+" is required", Pointer(f.Name))
		return
	case required && empty:
		errs.add(f.Name, CodeRequiredEmpty, "required", label+" is required and was sent empty", Pointer(f.Name))
		return
	case empty:
		return // an optional field left blank passes
	}
	if !f.Type.multiValued() && (len(v.Texts) > 1 || v.List) {
		errs.add(f.Name, CodeTypeText, "single", label+" takes one value, not a list", Pointer(f.Name))
		return
	}

	// The type's own check, then the rules on a value of the right Go kind
	// (a number as float64, so gte=18 compares values, not lengths).
	var subject any
	switch f.Type {
	case TypeNumber:
		n, err := strconv.ParseFloat(strings.TrimSpace(v.Texts[0]), 64)
		if err != nil {
			errs.add(f.Name, CodeTypeNumeric, "number", label+" must be a number", Pointer(f.Name))
			return
		}
		subject = n
	case TypeEmail:
		if val.v.Var(v.Texts[0], "email") != nil {
			errs.add(f.Name, CodeTypeEmail, "email", label+" must be a valid email address", Pointer(f.Name))
			return
		}
		subject = v.Texts[0]
	case TypeURL:
		if val.v.Var(v.Texts[0], "url") != nil {
			errs.add(f.Name, CodeTypeText, "url", label+" must be a URL such as https://example.com", Pointer(f.Name))
			return
		}
		subject = v.Texts[0]
	case TypeDate:
		if val.v.Var(v.Texts[0], "datetime=2006-01-02") != nil {
			errs.add(f.Name, CodeTypeText, "date", label+" must be a date written YYYY-MM-DD", Pointer(f.Name))
			return
		}
		subject = v.Texts[0]
	case TypeSelect, TypeCheckbox:
		if len(f.Options) > 0 {
			for _, t := range v.Texts {
				if !slices.Contains(f.Options, t) {
					errs.add(f.Name, CodeTypeText, "oneof", fmt.Sprintf("%s must be one of: %s", label, strings.Join(f.Options, ", ")), Pointer(f.Name))
					return
				}
			}
		}
		subject = v.Texts[0]
		if f.Type == TypeCheckbox {
			subject = v.Texts
		}
	case TypeFile:
		subject = v.Texts
	default:
		subject = v.Texts[0]
	}
	if f.Rules == "" {
		return
	}
	if err := val.runRules(f, subject); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			errs.add(f.Name, CodeTypeText, "rules", label+" could not be checked: "+err.Error(), Pointer(f.Name))
			return
		}
		for _, fe := range verrs {
			errs.add(f.Name, codeForTag(fe.Tag()), fe.Tag(), fe.Translate(val.trans), Pointer(f.Name))
		}
	}
}

// runRules applies f's rules. Rules are dry-run when saved, so a panic here
// means a rule that breaks only on some values; it becomes an error rather
// than a crashed request.
func (val *Validator) runRules(f Field, subject any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the form's rule %q does not apply to this value", f.Rules)
		}
	}()
	return val.v.VarWithKey(f.Name, subject, f.Rules)
}

func codeForTag(tag string) string {
	switch tag {
	case "required":
		return CodeRequiredEmpty
	case "email":
		return CodeTypeEmail
	case "numeric", "number":
		return CodeTypeNumeric
	default:
		return CodeTypeText
	}
}

func ruleNamed(rules, name string) bool {
	for r := range strings.SplitSeq(rules, ",") {
		if strings.TrimSpace(r) == name {
			return true
		}
	}
	return false
}
