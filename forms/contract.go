package forms

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

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

// fieldName is what a field's name may be: it becomes the name of the
// input in the owner's HTML, a key of the submission's JSON and a column
// of exports, so only characters that need no quoting in any of them.
var fieldName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-\[\]]{0,199}$`)

// legacyFieldName is what a name could be before spaces were refused: a
// form saved then keeps its names (changing one would break the owner's
// HTML), but a new field cannot have one.
var legacyFieldName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-\[\] ]{0,199}$`)

// notNameRunes are the runs of characters a field name cannot have.
var notNameRunes = regexp.MustCompile(`[^A-Za-z0-9_.\-\[\]]+`)

// Cross-field tags look at a parent struct, which a single form value does
// not have.
var crossFieldTag = regexp.MustCompile(`(^|[,|])\s*(required_|excluded_|skip_unless|eqcsfield|necsfield|gtcsfield|gtecsfield|ltcsfield|ltecsfield|eqfield|nefield|gtfield|gtefield|ltfield|ltefield|fieldcontains|fieldexcludes)`)

// CheckFields returns a *ValidationError describing every problem with a
// field list being saved: names, types, options and rule strings. Rule
// strings are dry-run here, because an unknown validator tag panics.
func (val *Validator) CheckFields(fields []Field) error {
	errs := &ValidationError{}
	val.checkFields(fields, nil, errs)
	return errs.orNil()
}

// Messages of a field's errors start with where the field is
// ("fields[2].name", "fields[2]") and go on with a sentence (after ": ") or
// the rest of one, so that the dashboard can put the field's label in
// front instead.

// checkFields checks fields; kept are the names of the form's fields as
// stored, which may keep a name of the kind legacyFieldName allows.
func (val *Validator) checkFields(fields []Field, kept map[string]bool, errs *ValidationError) {
	if len(fields) > MaxFields {
		errs.add("fields", CodeInvalid, "max", fmt.Sprintf("a form has at most %d fields", MaxFields), Pointer("fields"))
		return
	}
	seen := map[string]bool{}
	for i, f := range fields {
		at := func(member string) string { return Pointer("fields", strconv.Itoa(i), member) }
		switch {
		case kept[f.Name] && legacyFieldName.MatchString(f.Name):
		case !fieldName.MatchString(f.Name):
			errs.add(f.Name, CodeInvalid, "name", fmt.Sprintf("fields[%d].name: %s", i, nameProblem(f.Name)), at("name"))
		}
		if seen[f.Name] && f.Name != "" {
			errs.add(f.Name, CodeInvalid, "unique", fmt.Sprintf("fields[%d].name: “%s” is the name of another field too; each field needs its own", i, f.Name), at("name"))
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
			errs.add(f.Name, CodeInvalid, "options", fmt.Sprintf("fields[%d] is a select and needs its options, the values a person can choose", i), at("options"))
		}
		if f.Rules != "" {
			if msg := val.checkRules(f); msg != "" {
				errs.add(f.Name, CodeInvalid, "rules", fmt.Sprintf("fields[%d].rules: %s", i, msg), at("rules"))
			}
		}
	}
}

// nameProblem says what is wrong with a field name fieldName refuses, and
// what to write instead when one can be made of it ("full name":
// full_name).
func nameProblem(name string) string {
	const what = "a field name is letters, digits and _ . - [ ], starting with a letter or digit, since it is the input's name in your HTML and a key in the submission's JSON"
	if name == "" {
		return "the name is missing: " + what + ", such as email or full_name"
	}
	if len(name) > MaxNameLength {
		return fmt.Sprintf("the name is longer than %d characters", MaxNameLength)
	}
	problem := "“" + name + "” starts with a character a name cannot start with"
	switch {
	case strings.ContainsFunc(name, unicode.IsSpace):
		problem = "“" + name + "” has a space"
	case notNameRunes.MatchString(name):
		problem = "“" + name + "” has characters a name cannot have"
	}
	suggestion := strings.TrimLeft(strings.Trim(notNameRunes.ReplaceAllString(name, "_"), "_"), "_.-[]")
	ascii := !strings.ContainsFunc(name, func(r rune) bool { return r > unicode.MaxASCII })
	if ascii && suggestion != "" && suggestion != name && fieldName.MatchString(suggestion) {
		return problem + ": write it " + suggestion + " (" + what + ")"
	}
	return problem + ": " + what
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
func (val *Validator) checkRules(f Field) string {
	if len(f.Rules) > MaxRulesLength {
		return fmt.Sprintf("the rules are longer than %d characters", MaxRulesLength)
	}
	if crossFieldTag.MatchString(f.Rules) {
		return "rules that compare with other fields (eqfield, required_if, …) are not supported; use one field's own rules"
	}
	if val.panics(f.Type, f.Rules) == nil {
		return ""
	}
	// Find the rule at fault, one by one, to name it.
	for _, rule := range strings.FieldsFunc(f.Rules+",", func(r rune) bool { return r == ',' || r == '|' }) {
		if rule != strings.TrimSpace(rule) {
			return "“" + f.Rules + "” has a space next to a comma: write the rules without spaces around the commas, such as max=500,min=2"
		}
		r := val.panics(f.Type, rule)
		if r == nil {
			continue
		}
		name, param, hasParam := strings.Cut(rule, "=")
		switch msg := fmt.Sprint(r); {
		case strings.Contains(msg, "Undefined validation function"):
			return "“" + name + "” is not a rule Intake knows. " + rulesLookLike
		case strings.Contains(msg, "strconv.") && hasParam:
			return "“" + rule + "” needs a number after the =, such as " + name + "=500, not “" + param + "”"
		default:
			return "“" + rule + "” cannot check a " + string(f.Type) + " field. " + rulesLookLike
		}
	}
	// Each rule passes alone: an empty one between two commas.
	return "“" + f.Rules + "” has an empty rule (two commas in a row, or one at an end). " + rulesLookLike
}

// rulesLookLike ends the messages of rules Intake cannot use.
const rulesLookLike = "Rules look like max=500, min=2, oneof=a b"

// panics dry-runs rules on sample values of the kind a field of type t
// produces and returns what the validator panicked with, nil if nothing
// (an unknown validator tag panics rather than failing).
func (val *Validator) panics(t FieldType, rules string) (panicked any) {
	defer func() { panicked = recover() }()
	for _, sample := range samples(t) {
		_ = val.v.Var(sample, rules)
	}
	return nil
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
					errs.add(f.Name, CodeTypeChoice, "oneof", fmt.Sprintf("%s must be one of: %s", label, strings.Join(f.Options, ", ")), Pointer(f.Name))
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
	case "oneof":
		return CodeTypeChoice
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
