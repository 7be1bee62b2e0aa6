package forms

import (
	"strconv"
	"strings"
)

// JSONSchema describes what a submission to f must look like, as a JSON
// Schema (draft 2020-12) an agent can read before it submits. Rules that map
// onto JSON Schema keywords (length, range, oneof, email) are translated;
// every field also carries its raw rule string as "x-intake-rules".
func (f *Form) JSONSchema(endpoint string) map[string]any {
	props := map[string]any{}
	var required []string
	for _, fld := range f.Contract.Fields {
		props[fld.Name] = fieldSchema(fld)
		if fld.Required || ruleNamed(fld.Rules, "required") {
			required = append(required, fld.Name)
		}
	}
	props["_idempotency_key"] = map[string]any{
		"type": "string", "minLength": 1, "maxLength": 255,
		"description": "Optional: the same key as the Idempotency-Key header, for clients that cannot set headers.",
	}
	if p := f.Settings.Captcha.Provider; p != "" {
		props[p.TokenField()] = map[string]any{
			"type": "string", "minLength": 1,
			"description": "The " + p.Name() + " token of the form's CAPTCHA widget: single-use, verified before the submission is stored.",
		}
		required = append(required, p.TokenField())
	}
	s := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  endpoint,
		"title":                f.Name,
		"description":          "POST a JSON object, urlencoded or multipart body to " + endpoint + ". Send an Idempotency-Key header so a retry is never stored twice.",
		"type":                 "object",
		"properties":           props,
		"additionalProperties": f.Settings.UnknownFields != UnknownReject,
		"x-contract-version":   f.Contract.Version,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func fieldSchema(f Field) map[string]any {
	s := map[string]any{}
	if f.Label != "" {
		s["title"] = f.Label
	}
	switch f.Type {
	case TypeNumber:
		s["type"] = "number"
	case TypeEmail:
		s["type"], s["format"] = "string", "email"
	case TypeURL:
		s["type"], s["format"] = "string", "uri"
	case TypeDate:
		s["type"], s["format"] = "string", "date"
	case TypeSelect:
		s["type"], s["enum"] = "string", f.Options
	case TypeCheckbox:
		item := map[string]any{"type": "string"}
		if len(f.Options) > 0 {
			item["enum"] = f.Options
		}
		s["anyOf"] = []any{item, map[string]any{"type": "array", "items": item}}
	case TypeFile:
		s["type"] = "string"
		s["description"] = "a file part of a multipart/form-data body"
	default:
		s["type"] = "string"
	}
	lengthKeys := [2]string{"minLength", "maxLength"}
	if f.Type == TypeNumber {
		lengthKeys = [2]string{"minimum", "maximum"}
	}
	for r := range strings.SplitSeq(f.Rules, ",") {
		name, param, _ := strings.Cut(strings.TrimSpace(r), "=")
		n, numErr := strconv.ParseFloat(param, 64)
		switch {
		case (name == "min" || name == "gte") && numErr == nil:
			s[lengthKeys[0]] = n
		case (name == "max" || name == "lte") && numErr == nil:
			s[lengthKeys[1]] = n
		case name == "len" && numErr == nil && f.Type != TypeNumber:
			s["minLength"], s["maxLength"] = n, n
		case name == "oneof" && param != "":
			s["enum"] = strings.Fields(param)
		case name == "email":
			s["format"] = "email"
		}
	}
	if f.Rules != "" {
		s["x-intake-rules"] = f.Rules
	}
	return s
}
