package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/intakehq/intake/forms"
)

// brandingView is the page of a form's look on its hosted pages.
type brandingView struct {
	base
	FormID, FormName string
	forms.Branding
	HostedURL, ThanksURL string
	Errors               map[string]string // by the setting's JSON name
}

func (d *Dashboard) brandingPage(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.renderBranding(w, r, http.StatusOK, f, brandingView{Branding: f.Settings.Branding})
}

// saveBranding saves the form's look (settings.branding, recorded as
// form.update), or shows what is wrong next to its input (422).
func (d *Dashboard) saveBranding(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if !d.parseFormFor(w, r, err) {
		return
	}
	text := func(name string) string {
		return strings.TrimSpace(strings.ReplaceAll(r.PostFormValue(name), "\r\n", "\n"))
	}
	b := forms.Branding{LogoURL: text("logo_url"), Color: strings.ToLower(text("color")), Intro: text("intro"), ThankYou: text("thank_you")}
	raw, err := json.Marshal(map[string]forms.Branding{"branding": b})
	if err != nil {
		d.error(w, r, err)
		return
	}
	_, err = forms.Update(r.Context(), d.DB, d.Validator, d.Sealer, d.Recipients, d.actor(r), user(r).AccountID, f.PublicID, forms.Patch{Settings: raw})
	var invalid *forms.ValidationError
	if errors.As(err, &invalid) {
		v := brandingView{Branding: b, Errors: map[string]string{}}
		prefix := forms.Pointer("settings", "branding") + "/"
		for _, e := range invalid.Errors {
			if key, ok := strings.CutPrefix(e.Pointer, prefix); ok {
				v.Errors[key] = e.Message
			}
		}
		if len(v.Errors) > 0 {
			d.renderBranding(w, r, http.StatusUnprocessableEntity, f, v)
			return
		}
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms/"+f.PublicID+"/look", flash{Kind: flashSuccess, Message: "Saved: the hosted page and the thank-you page look so now."})
}

func (d *Dashboard) renderBranding(w http.ResponseWriter, r *http.Request, status int, f *forms.Form, v brandingView) {
	v.FormID, v.FormName = f.PublicID, f.Name
	v.HostedURL = d.endpoint(f)
	v.ThanksURL = v.HostedURL + "/thanks"
	v.base = d.base(w, r, "Look · "+f.Name, "forms", formCrumbs(f, crumb{Label: "Look of the hosted pages"})...)
	renderPage(d, w, r, status, tmplBranding, v)
}
