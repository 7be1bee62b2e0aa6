package web

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"github.com/intakehq/intake/forms"
)

// snippets are the form's four ready-made integrations: a plain HTML form,
// the same with intake.js, fetch and curl — the last two with an
// Idempotency-Key, so a retry is never stored twice.
func (d *Dashboard) snippets(f *forms.Form) []snippet {
	endpoint := d.endpoint(f)
	return []snippet{
		{ID: "snippet-html", Title: "HTML form",
			Intro: "Paste it into any page. A double click or a resubmit within the dedupe window still makes one submission.",
			Code:  htmlSnippet(f, endpoint, "")},
		{ID: "snippet-intakejs", Title: "HTML form with intake.js",
			Intro: "intake.js gives each submission its own idempotency key, locks the form while it is sent and shows the answer in the page (data-intake-inline; without it, the visitor goes to the thank-you page).",
			Code:  htmlSnippet(f, endpoint, d.BaseURL+"/js/intake.js")},
		{ID: "snippet-fetch", Title: "JavaScript fetch",
			Intro: "Make one key per submission and reuse it when you retry: the retry gets the first answer back.",
			Code:  fetchSnippet(f, endpoint)},
		{ID: "snippet-curl", Title: "curl",
			Intro: "From a shell, a backend or an agent. Run it twice with the same key: one submission.",
			Code:  curlSnippet(f, endpoint)},
	}
}

// exampleFields stand in for a form without a contract, which accepts any
// fields.
var exampleFields = []forms.Field{
	{Name: "email", Type: forms.TypeEmail, Label: "Email"},
	{Name: "message", Type: forms.TypeTextarea, Label: "Message"},
}

func snippetFields(f *forms.Form) []forms.Field {
	if len(f.Contract.Fields) == 0 {
		return exampleFields
	}
	return f.Contract.Fields
}

// htmlSnippet is a plain HTML form of the contract, with the honeypot;
// with script set, it is marked data-intake and loads intake.js.
func htmlSnippet(f *forms.Form, endpoint, script string) string {
	e := html.EscapeString
	var b strings.Builder
	enctype := ""
	for _, fl := range f.Contract.Fields {
		if fl.Type == forms.TypeFile {
			enctype = ` enctype="multipart/form-data"`
		}
	}
	intake := ""
	if script != "" {
		intake = " data-intake data-intake-inline"
	}
	fmt.Fprintf(&b, "<form action=\"%s\" method=\"post\"%s%s>\n", e(endpoint), enctype, intake)
	req := func(fl forms.Field) string {
		if fl.Required {
			return " required"
		}
		return ""
	}
	for _, fl := range snippetFields(f) {
		label := e(orDefault(fl.Label, fl.Name))
		name := e(fl.Name)
		switch fl.Type {
		case forms.TypeTextarea:
			fmt.Fprintf(&b, "  <label>%s <textarea name=\"%s\"%s></textarea></label>\n", label, name, req(fl))
		case forms.TypeSelect:
			fmt.Fprintf(&b, "  <label>%s\n    <select name=\"%s\"%s>\n      <option value=\"\">Choose…</option>\n", label, name, req(fl))
			for _, o := range fl.Options {
				fmt.Fprintf(&b, "      <option>%s</option>\n", e(o))
			}
			b.WriteString("    </select>\n  </label>\n")
		case forms.TypeCheckbox:
			if len(fl.Options) == 0 {
				fmt.Fprintf(&b, "  <label><input type=\"checkbox\" name=\"%s\" value=\"on\"%s> %s</label>\n", name, req(fl), label)
				break
			}
			fmt.Fprintf(&b, "  <fieldset>\n    <legend>%s</legend>\n", label)
			for _, o := range fl.Options {
				fmt.Fprintf(&b, "    <label><input type=\"checkbox\" name=\"%s\" value=\"%s\"> %s</label>\n", name, e(o), e(o))
			}
			b.WriteString("  </fieldset>\n")
		case forms.TypeHidden:
			fmt.Fprintf(&b, "  <input type=\"hidden\" name=\"%s\" value=\"\">\n", name)
		case forms.TypeText, forms.TypeEmail, forms.TypeNumber, forms.TypeURL, forms.TypeTel, forms.TypeDate, forms.TypeFile:
			fmt.Fprintf(&b, "  <label>%s <input type=\"%s\" name=\"%s\"%s></label>\n", label, fl.Type, name, req(fl))
		default:
			fmt.Fprintf(&b, "  <label>%s <input type=\"text\" name=\"%s\"%s></label>\n", label, name, req(fl))
		}
	}
	b.WriteString("  <!-- Honeypot: hidden from people; a bot that fills it is stored as spam. -->\n")
	fmt.Fprintf(&b, "  <input type=\"text\" name=\"%s\" tabindex=\"-1\" autocomplete=\"off\" hidden>\n", e(f.Settings.HoneypotField))
	c := f.Settings.Captcha
	if c.Provider != "" {
		fmt.Fprintf(&b, "  <!-- %s: its script puts the token in %s. -->\n", e(c.Provider.Name()), e(c.Provider.TokenField()))
		fmt.Fprintf(&b, "  <div class=\"%s\" data-sitekey=\"%s\"></div>\n", e(c.Provider.WidgetClass()), e(orDefault(c.SiteKey, "YOUR_SITE_KEY")))
	}
	b.WriteString("  <button type=\"submit\">Send</button>\n</form>")
	if c.Provider != "" {
		fmt.Fprintf(&b, "\n<script src=\"%s\" async defer></script>", e(c.Provider.WidgetScript()))
	}
	if script != "" {
		fmt.Fprintf(&b, "\n<script src=\"%s\" defer></script>", e(script))
	}
	return b.String()
}

// sampleJSON is a JSON object of example values for the contract's fields,
// in contract order (files cannot go in JSON and are left out), indented
// by indent ("" for one line).
func sampleJSON(f *forms.Form, indent string) string {
	var parts []string
	for _, fl := range snippetFields(f) {
		if fl.Type == forms.TypeFile {
			continue
		}
		k, _ := json.Marshal(fl.Name)
		v, _ := json.Marshal(sampleValue(fl))
		sep := ":"
		if indent != "" {
			sep = ": "
		}
		parts = append(parts, string(k)+sep+string(v))
	}
	if indent == "" {
		return "{" + strings.Join(parts, ",") + "}"
	}
	if len(parts) == 0 {
		return "{}"
	}
	outer := indent[:len(indent)-2]
	return "{\n" + indent + strings.Join(parts, ",\n"+indent) + "\n" + outer + "}"
}

func sampleValue(fl forms.Field) any {
	switch fl.Type {
	case forms.TypeEmail:
		return "ada@example.com"
	case forms.TypeNumber:
		return 42
	case forms.TypeURL:
		return "https://example.com"
	case forms.TypeTel:
		return "+1 555 0100"
	case forms.TypeDate:
		return "2026-01-31"
	case forms.TypeSelect:
		if len(fl.Options) > 0 {
			return fl.Options[0]
		}
	case forms.TypeCheckbox:
		if len(fl.Options) > 0 {
			return []string{fl.Options[0]}
		}
		return true
	case forms.TypeTextarea:
		return "Hello! I would like to know more."
	}
	if strings.Contains(strings.ToLower(fl.Name), "name") {
		return "Ada Lovelace"
	}
	return "example"
}

func fetchSnippet(f *forms.Form, endpoint string) string {
	ep, _ := json.Marshal(endpoint)
	return `// One key per submission: a retry with the same key gets the first answer
// back and is never stored twice.
const key = crypto.randomUUID();
const res = await fetch(` + string(ep) + `, {
  method: "POST",
  headers: {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Idempotency-Key": key,
  },
  body: JSON.stringify(` + sampleJSON(f, "    ") + `),
});
const answer = await res.json(); // 201: {"ok": true, "id": "sub_…"}; 422 lists the fields to fix`
}

func curlSnippet(f *forms.Form, endpoint string) string {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	return `KEY=$(uuidgen)   # one per submission; send it again to retry safely
curl ` + quote(endpoint) + ` \
  -H 'Content-Type: application/json' \
  -H 'Accept: application/json' \
  -H "Idempotency-Key: $KEY" \
  -d ` + quote(sampleJSON(f, ""))
}
